#!/usr/bin/env python3
"""Write a llama2.c tokenizer file (tokenizer.bin format) of exactly 512 entries for stories260K.

The checkpoint's own tok512.bin is not available offline, so this vocabulary only has the right
SIZE and the ids llama.cpp's converter treats specially: 0 <unk>, 1 <s>, 2 </s>, then the 256
byte tokens <0x00>..<0xFF> (ids 3..258), then filler pieces "tok259".."tok511". The end-to-end
test compares generations by token id, so the texts do not matter.

Format (llama2.c): u32 max_token_length, then per token: f32 score, u32 length, bytes.
"""
import struct
import sys


def pieces():
    yield from ("<unk>", "<s>", "</s>")
    for b in range(256):
        yield "<0x%02X>" % b
    for i in range(259, 512):
        yield "tok%d" % i


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_vocab.py OUT")
    toks = [p.encode() for p in pieces()]
    assert len(toks) == 512 and len(set(toks)) == 512
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<I", max(len(t) for t in toks)))
        for i, t in enumerate(toks):
            score = 0.0 if i < 259 else -float(i)
            f.write(struct.pack("<fI", score, len(t)))
            f.write(t)


if __name__ == "__main__":
    main()
