#!/usr/bin/env python3
"""Write the seed corpus of tests/fuzz/fuzz_api (tests/fuzz/corpus/): one small file per feature
of the input format that fuzz_api.c decodes (LLVMFuzzerTestOneInput, "header"), each followed
by a deterministic pseudo-random tail (row families, contents, offsets). Rerun after a change of
the format:  python3 tests/fuzz/make_corpus.py"""
import os
import random
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')

# op byte (fuzz_api.c op_map, modulo 32; 20..23 are the bf16 / f16 ops, X16 below; 24..27 the
# add ops, ADD below; 28..31 gated_rmsnorm_f32_ex, GATED below): 0 layernorm_f32_ex,
# 1 rmsnorm_f32_ex, 2 l2norm_f32_ex,
# 9 layernorm_f32, 10 rmsnorm_f32, 11 groupnorm_f32_ex (its own decoder), 16 rmsnorm_back_f32_ex;
# outer / osm: the (0.3) two-level bytes outer_mode and os_mode
BASE = dict(op=0, rows=4, dim=16, smode=0, xpad=0, ypad=0, ymode=0, xmode=0, wmode=0,
            bmode=0, mmode=0, rmode=0, emode=0, eps=0, osize=0, oflag=0, nth=0, ith=2, gaps=0,
            outer=0, osm=0)

SEEDS = {
    'ln-basic': {},
    'rms-basic': dict(op=1),
    'ln-plain': dict(op=9),
    'rms-plain': dict(op=10),
    'ln-dim1': dict(dim=1, rows=7),
    'rms-dim1': dict(op=1, dim=1, rows=7),
    'ln-dim17': dict(dim=17, rows=16),
    'ln-dim513': dict(dim=0x8000 | 513, rows=2),
    'rms-dim1100': dict(op=1, dim=0x8000 | 1100, rows=3),
    'ln-strides': dict(smode=1 | 1 << 2, xpad=5, ypad=9),
    'rms-strides': dict(op=1, smode=1 | 1 << 2, xpad=3, ypad=1),
    'ln-inplace': dict(ymode=5, smode=0x10 | 1, xpad=4),
    'rms-inplace': dict(op=1, ymode=5),
    'ln-inplace-badstride': dict(ymode=5, smode=1 | 1 << 2, xpad=4, ypad=6),
    'ln-interleaved': dict(ymode=6, xpad=3),
    'rms-interleaved-overlap': dict(op=1, ymode=6 | 8 | (3 << 4)),
    'ln-nth3-ith1': dict(nth=3, ith=2 | 1 << 3, rows=7),
    'rms-nth5-ith4': dict(op=1, nth=5, ith=2 | 4 << 3, rows=3),
    'ln-ith-eq-nth': dict(nth=3, ith=0),
    'rms-nth1-ith1': dict(op=1, nth=1, ith=0),
    'ln-nth-large': dict(nth=0xf3, ith=2 | 9 << 3, rows=5),
    'ln-x-misaligned': dict(xmode=7 | 0x10),
    'rms-x-null': dict(op=1, xmode=0x0f),
    'ln-y-null': dict(ymode=7),
    'ln-y-misaligned': dict(ymode=7 | 1 << 3 | 1 << 5),
    'ln-y-anywhere': dict(ymode=7 | 2 << 3),
    'ln-no-w-b': dict(wmode=3, bmode=4, mmode=3, rmode=3),
    'ln-w-at-x': dict(wmode=7),
    'ln-b-misaligned': dict(bmode=6),
    'ln-mean-in-y': dict(mmode=7),
    'ln-rstd-near-mean': dict(rmode=7),
    'rms-rstd-anywhere': dict(op=1, rmode=5),
    'ln-eps0': dict(emode=2),
    'rms-eps-bad': dict(op=1, emode=6, eps=1),
    'ln-eps-raw': dict(emode=4, eps=0x7fc00000),
    'ln-eps-odd': dict(emode=5, eps=4),
    'ln-opts-min-size': dict(osize=5),
    'rms-opts-short': dict(op=1, osize=6 | 20 << 3),
    'ln-opts-newer': dict(osize=7 | 2 << 4),
    'ln-opts-size-max': dict(osize=15),
    'ln-flags': dict(oflag=15 | 3 << 4),
    'rms-reserved': dict(op=1, oflag=14),
    'ln-opts-null': dict(smode=0x20),
    'ln-stride-small': dict(smode=2, xpad=7),
    'ln-stride-huge': dict(smode=3 | 3 << 2, xpad=1, ypad=3),
    'rms-rows-huge': dict(op=1, rows=0xf8),
    'ln-dim0': dict(dim=0),
    'rms-rows0': dict(op=1, rows=0),
    # RMSNorm backward (op 16): y is dx, x is dz, the bias mode places the forward x
    'rmsb-basic': dict(op=16),
    'rmsb-outer2-gap': dict(op=16, rows=3, outer=2, osm=2 | 2 << 3),
    'rmsb-outer3-overlap-x': dict(op=16, rows=2, outer=3, osm=3),
    'rmsb-outer2-inplace': dict(op=16, rows=2, outer=2, ymode=5, osm=0x3f),
    'l2-basic': dict(op=2),
    'rms-outer3-gap': dict(op=1, rows=2, outer=3, osm=2 | 2 << 3),
    'gn-basic': dict(op=11),
    'rmsb-inplace': dict(op=16, ymode=5),
    'rmsb-x-null': dict(op=16, bmode=3),
    'rmsb-x-misaligned': dict(op=16, bmode=4),
    'rmsb-x-anywhere': dict(op=16, bmode=5),
    'rmsb-x-is-dx': dict(op=16, bmode=6),
    'rmsb-x-is-dz': dict(op=16, bmode=7),
    'rmsb-strides-split': dict(op=16, smode=1 | 1 << 2, xpad=3, ypad=5, nth=3, ith=2 | 1 << 3,
                               rows=7),
    'rmsb-dim1100': dict(op=16, dim=0x8000 | 1100, rows=3),
    'rmsb-eps0': dict(op=16, emode=2),
    'rmsb-rstd-anywhere': dict(op=16, rmode=5),
}

# (0.4) gated RMSNorm (op 28..31): its own byte layout (fuzz_api.c fuzz_gated): rows, dim, group,
# gate, smode, pmode (2 bytes), emode, tb, ob, fb, padb, then the contents
GATED = {
    'gated-silu-after': dict(rows=3, dim=16, group=0, gate=0, pmode=1 << 8 | 1 << 13),
    'gated-silu-before-groups': dict(rows=2, dim=48, group=1 | 15 << 2, gate=1,
                                     pmode=1 << 8 | 2 << 13),
    'gated-sigmoid-inplace-x': dict(rows=4, dim=33, gate=2, pmode=4 << 2 | 1 << 8),
    'gated-inplace-z-plus-one': dict(rows=2, dim=64, gate=0, pmode=5 << 2 | 1 << 8, fb=1),
    'gated-z-is-x': dict(rows=3, dim=7, gate=1, pmode=4 << 5),
    'gated-bad-group': dict(rows=2, dim=30, group=2, gate=0),
    'gated-bad-gate': dict(rows=2, dim=8, gate=7 | 1 << 3),
    'gated-z-over-y': dict(rows=2, dim=12, gate=0, pmode=6 << 5 | 3 << 10),
    'gated-outer-split': dict(rows=3, dim=20, group=1 | 4 << 2, gate=2, ob=2 | 4 | 0x40,
                              tb=3 << 2, pmode=1 << 13),
    'gated-strides-rstd-in-y': dict(rows=3, dim=9, gate=1, smode=1 | 1 << 2, padb=0x35,
                                    pmode=4 << 13),
    'gated-rows-huge': dict(rows=0xfd, dim=5, gate=0),
    'gated-flags-bad': dict(rows=1, dim=4, gate=0, fb=3),
}
GATED_BASE = dict(rows=2, dim=8, group=0, gate=0, smode=0, pmode=0, emode=1, tb=0, ob=0, fb=0,
                  padb=0)


def gated_header(k):
    return (bytes([28, k['rows'], k['dim'], k['group'], k['gate'], k['smode']]) +
            struct.pack('<H', k['pmode']) +
            bytes([k['emode'], k['tb'], k['ob'], k['fb'], k['padb']]))


# (0.4) bf16 / f16 (fuzz_x16 in fuzz_api.c): op byte 20 layernorm_bf16, 21 rmsnorm_bf16,
# 22 layernorm_f16, 23 rmsnorm_f16, then its own header
X16_BASE = dict(op=20, rows=4, dim=16, smode=0, xpad=0, ypad=0, ymode=0, xmode=0, wmode=1,
                bmode=1, stmode=1 | 1 << 3, fmode=0, emode=0, nth=0, ith=0)
X16_SEEDS = {
    'x16-ln-bf16': {},
    'x16-rms-bf16': dict(op=21),
    'x16-ln-f16': dict(op=22),
    'x16-rms-f16': dict(op=23),
    'x16-ln-bf16-w16': dict(fmode=2),
    'x16-rms-f16-w16-plus1': dict(op=23, fmode=3),
    'x16-ln-f16-dim513': dict(op=22, dim=0x8000 | 513, rows=2),
    'x16-rms-bf16-dim1100': dict(op=21, dim=0x8000 | 1100, rows=2),
    'x16-inplace-strides': dict(ymode=2, smode=1 | 0x10, xpad=3),
    'x16-y-into-x': dict(op=21, ymode=3 | 5 << 4),
    'x16-y-after-x': dict(op=22, ymode=5),
    'x16-x-2mod4': dict(xmode=2, ymode=6),
    'x16-x-odd': dict(op=23, xmode=1),
    'x16-w-float-2mod4': dict(wmode=2),
    'x16-w16-2mod4': dict(wmode=2, fmode=2),
    'x16-w-over-y': dict(op=21, wmode=4, fmode=2),
    'x16-w-after-y': dict(op=21, wmode=6, fmode=2),
    'x16-w-over-x': dict(wmode=5, fmode=2),
    'x16-mean-eq-rstd': dict(stmode=1 | 7 << 3),
    'x16-rstd-over-x': dict(op=23, stmode=5 << 3),
    'x16-flag-bad': dict(fmode=0x1c),
    'x16-eps-nan': dict(emode=3),
    'x16-stride-small': dict(smode=2),
    'x16-rows-huge': dict(rows=0xf9),
    'x16-split': dict(op=22, rows=7, nth=3, ith=2),
    'x16-dim0': dict(dim=0),
}


def x16_header(k):
    return (bytes([k['op'], k['rows']]) + struct.pack('<H', k['dim']) +
            bytes([k['smode'], k['xpad'], k['ypad'], k['ymode'], k['xmode'], k['wmode'],
                   k['bmode'], k['stmode'], k['fmode'], k['emode'], k['nth'], k['ith']]))


# (0.4) the add ops (op 24: add_layernorm, 26: add_rmsnorm) have their own decoder (fuzz_add in
# fuzz_api.c): rows, dim, stride mode, placement (u16: low 4 bits where h and y go, 0x1000 no
# weight, 0x2000 no bias), stats mode, eps mode, ith/nth, flags mode (1 PLUS_ONE, 2 both, 3 an
# unknown bit)
ADD_SEEDS = {
    'addln-basic': (24, 4, 16, 0, 0, 1, 1, 0, 0),
    'addln-plus-one': (24, 3, 33, 0x09, 0, 1, 1, 0, 1),
    'addln-h-null': (24, 5, 17, 0, 5, 1, 0, 0, 0),
    'addln-h-is-x': (24, 3, 64, 0x80, 1, 1, 1, 0, 0),
    'addln-y-is-r-h-is-x': (24, 2, 7, 0x81, 15, 0, 1, 0, 1),
    'addln-y-is-h': (24, 2, 8, 0, 7, 0, 1, 0, 0),
    'addln-outer2-split': (24, 3, 20, 0x61, 0x400, 1, 1, 0x13, 0),
    'addrms-basic': (26, 4, 16, 0, 0, 1, 1, 0, 0),
    'addrms-plus-one': (26, 6, 70, 0x11, 0x2000, 1, 1, 0x0a, 2),
    'addrms-h-is-r': (26, 3, 31, 0x80, 2, 0, 0, 0, 1),
    'addrms-y-is-x-h-null': (26, 4, 5, 0, 6, 3, 1, 0, 0),
    'addrms-h-into-x': (26, 2, 12, 0, 8 | 0x100, 0, 1, 0, 0),
    'addrms-r-null': (26, 2, 12, 0, 12 | 0x100, 0, 1, 0, 0),
    'addrms-flag-unknown': (26, 2, 12, 0, 0, 0, 1, 0, 3 | 5 << 2),
    'addrms-rstd-over-h': (26, 3, 12, 0, 0, 2 | 3 << 2, 1, 0, 0),
    'addrms-eps-bad': (26, 2, 12, 0, 0, 0, 3 | 1 << 2, 0, 0),
    'addrms-rows-huge': (26, 0xfd, 12, 0, 0, 0, 1, 0, 0),
}


def add_header(v):
    op, rows, dim, sm, pm, qm, em, tb, fb = v
    return bytes([op, rows, dim, sm]) + struct.pack('<H', pm) + bytes([qm, em, tb, fb])


def header(k):
    return (bytes([k['op'], k['rows']]) + struct.pack('<H', k['dim']) +
            bytes([k['smode'], k['xpad'], k['ypad'], k['ymode'], k['xmode'], k['wmode'],
                   k['bmode'], k['mmode'], k['rmode'], k['emode']]) +
            struct.pack('<I', k['eps']) +
            bytes([k['osize'], k['oflag'], k['nth'], k['ith']]) + struct.pack('<H', k['gaps']) +
            bytes([k['outer'], k['osm']]))


# Inputs the fuzzer failed on (2026-12-06, session 26): rmsnorm_back with the forward x placed
# at y (the EOVERLAP case) and laid out with x's larger outer stride, which reached past the
# arena: the decoder's own abort ("a buffer outside the arena"), not the library's.
REGRESS = {
    'regress-back-x2-at-y-edge': bytes([0x10, 0x2, 0x10, 0x0, 0x0, 0xff, 0xfc, 0xff, 0x0, 0x0,
                                        0xfe, 0xff, 0xfb, 0x23, 0xa, 0x5, 0xfc, 0x0, 0x0]),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.unlink(os.path.join(OUT, name))
    for i, (name, over) in enumerate(sorted(SEEDS.items())):
        k = dict(BASE, **over)
        rnd = random.Random(i * 7919 + 1)
        tail = bytes(rnd.randrange(256) for _ in range(rnd.randrange(64, 320)))
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(header(k) + tail)
    for i, (name, over) in enumerate(sorted(X16_SEEDS.items())):
        k = dict(X16_BASE, **over)
        rnd = random.Random(i * 6151 + 7)
        tail = bytes(rnd.randrange(256) for _ in range(rnd.randrange(64, 320)))
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(x16_header(k) + tail)
    for i, (name, v) in enumerate(sorted(ADD_SEEDS.items())):
        rnd = random.Random(i * 6151 + 7)
        tail = bytes(rnd.randrange(256) for _ in range(rnd.randrange(64, 320)))
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(add_header(v) + tail)
    for i, (name, over) in enumerate(sorted(GATED.items())):
        k = dict(GATED_BASE, **over)
        rnd = random.Random(i * 6151 + 3)
        tail = bytes(rnd.randrange(256) for _ in range(rnd.randrange(64, 320)))
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(gated_header(k) + tail)
    # inputs the fuzzer once failed on, kept as they were found
    for name, raw in sorted(REGRESS.items()):
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(raw)
    n = len(SEEDS) + len(X16_SEEDS) + len(ADD_SEEDS) + len(GATED) + len(REGRESS)
    print(f'{n} seeds in {OUT}', file=sys.stderr)


if __name__ == '__main__':
    main()
