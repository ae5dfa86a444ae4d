#!/usr/bin/python3
"""Optional cross-check of libnorm against PyTorch on random shapes.

torch.nn.functional.layer_norm (and rms_norm where this torch has it) over the trailing
normalized_shape of random tensors, with and without weight/bias, eps 0 / 1e-5 / 1e-6 / 0.1:
  - libnorm must be within 8 FLT_EPSILON of PyTorch's float64 evaluation of the same float32
    inputs (relative to max(1, |y|)), including large-mean rows;
  - on well-conditioned rows (N(0,1)-ish) libnorm must agree with PyTorch's own float32 output
    within torch.testing's float32 tolerance (rtol 1.3e-6, atol 1e-5).
Exits 77 (skip) when torch is not importable (Debian python3-torch, not installed by test.sh).

    torch_crosscheck.py PATH/TO/libnorm.so
"""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import numpy as np
except ImportError as e:  # pragma: no cover
    print("torch_crosscheck: SKIP: %s" % e)
    sys.exit(77)
try:
    import torch
    import torch.nn.functional as F
except ImportError as e:
    print("torch_crosscheck: SKIP: PyTorch is not importable (%s; Debian: python3-torch)" % e)
    sys.exit(77)

from libnorm_ctypes import Libnorm  # noqa: E402

FLT_EPSILON = float(np.finfo(np.float32).eps)
CONTRACT = 8.0
RTOL32, ATOL32 = 1.3e-6, 1e-5


def scaled_err(y, y64):
    scale = np.maximum(1.0, np.abs(y64))
    return float(np.max(np.abs(y.astype(np.float64) - y64) / scale) / FLT_EPSILON)


def judge(op, where, y, y64, y32, worst64, worst32):
    """Checks libnorm's y against torch's float64 (the contract) and, when y32 is given, float32
    (its tolerance); records the worst errors. Returns the number of failures (0, 1 or 2)."""
    fails = 0
    e64 = scaled_err(y, y64)
    worst64[op] = max(worst64[op], e64)
    if not e64 <= CONTRACT:
        fails += 1
        print("FAIL %s %s: %.3g FLT_EPSILON from torch float64" % (op, where, e64))
    if y32 is not None:
        d = np.abs(y.astype(np.float64) - y32)
        worst32[op] = max(worst32[op], float(d.max()))
        if not np.all(d <= ATOL32 + RTOL32 * np.abs(y32)):
            fails += 1
            print("FAIL %s %s: %.3g from torch float32" % (op, where, float(d.max())))
    return fails


def main():
    if len(sys.argv) != 2:
        print("usage: torch_crosscheck.py libnorm.so")
        return 2
    lib = Libnorm(sys.argv[1])
    rng = np.random.default_rng(1234)
    has_rms = hasattr(F, "rms_norm")
    print("torch_crosscheck: libnorm tier %s, torch %s%s" % (
        lib.isa(), torch.__version__, "" if has_rms else " (no F.rms_norm: LayerNorm only)"))
    fails = 0
    worst64 = {"layernorm": 0.0, "rmsnorm": 0.0}
    worst32 = {"layernorm": 0.0, "rmsnorm": 0.0}
    trials = 0
    for trial in range(120):
        rank = int(rng.integers(1, 5))
        shape = tuple(int(v) for v in rng.integers(1, 9, size=rank))
        k = int(rng.integers(1, rank + 1))               # normalized trailing dims
        shape = shape[:-1] + (int(rng.choice([1, 3, 17, 64, 120, 257, 768, 1000, 4097])),)
        norm_shape = shape[rank - k:]
        kind = trial % 4
        if kind == 3:
            x = (1e4 + 1e-2 * rng.standard_normal(shape)).astype(np.float32)
        elif kind == 2:
            x = (rng.uniform(-3, 5, shape)).astype(np.float32)
        else:
            x = rng.standard_normal(shape).astype(np.float32)
        w = (1 + 0.5 * rng.standard_normal(norm_shape)).astype(np.float32) if trial % 3 else None
        b = (0.5 * rng.standard_normal(norm_shape)).astype(np.float32) if trial % 5 else None
        eps = float(np.float32([0.0, 1e-5, 1e-6, 0.1][trial % 4]))
        rows = int(np.prod(shape[:rank - k], dtype=np.int64))
        dim = int(np.prod(norm_shape, dtype=np.int64))
        x2d = x.reshape(rows, dim)
        wf = None if w is None else w.reshape(-1)
        bf = None if b is None else b.reshape(-1)
        trials += 1

        # LayerNorm
        y, _, _ = lib.layernorm(x2d, wf, bf, eps)
        y = y.reshape(shape)
        if dim == 1 and eps == 0.0:
            # a constant row with eps 0: PyTorch gives 0 * inf = NaN, libnorm's documented
            # semantics give exactly the bias
            want = np.broadcast_to(b if b is not None else np.float32(0), shape)
            if not np.array_equal(y, want):
                fails += 1
                print("FAIL layernorm shape %s dim 1 eps 0: not exactly the bias" % (shape,))
            continue
        tw = lambda a, dt: None if a is None else torch.from_numpy(a).to(dt)  # noqa: E731
        y64 = F.layer_norm(torch.from_numpy(x).double(), norm_shape, tw(w, torch.float64),
                           tw(b, torch.float64), eps).numpy()
        y32 = F.layer_norm(torch.from_numpy(x), norm_shape, tw(w, torch.float32),
                           tw(b, torch.float32), eps).numpy()
        where = "shape %s normalized %s eps %g" % (shape, norm_shape, eps)
        fails += judge("layernorm", where, y, y64, y32 if kind != 3 and eps > 0 else None,
                       worst64, worst32)

        # RMSNorm
        if has_rms:
            y, _ = lib.rmsnorm(x2d, wf, eps)
            y = y.reshape(shape)
            y64 = F.rms_norm(torch.from_numpy(x).double(), norm_shape, tw(w, torch.float64),
                             eps).numpy()
            y32 = F.rms_norm(torch.from_numpy(x), norm_shape, tw(w, torch.float32), eps).numpy()
            fails += judge("rmsnorm", where, y, y64, y32 if eps > 0 else None, worst64,
                           worst32)

    for op in ("layernorm", "rmsnorm") if has_rms else ("layernorm",):
        print("torch_crosscheck: %-9s worst %.2f FLT_EPSILON from torch float64, max |diff| %.3g "
              "from torch float32" % (op, worst64[op], worst32[op]))
    print("torch_crosscheck: %d random shapes, %d failures" % (trials, fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
