#!/usr/bin/env python3
"""Checks for scripts/browser_check.sh (standard library only).

    browser_check_png.py PAGE.dom FRAME SHOT_0.png SHOT_K.png

- PAGE.dom (chromium --dump-dom of view.html#frame=FRAME): the page's script ran to the end
  (body data-ready="1"), is at frame FRAME (body data-frame and #frame-index), and caught no
  script error (#errors is empty);
- each screenshot is not blank: many distinct colours and a non-trivial share of non-white
  pixels;
- the two screenshots differ (the slider changed what is drawn).
Prints one line per check; exit status 1 on the first failure.
"""
import re
import struct
import sys
import zlib


def fail(msg):
    print(f"    FAILED: {msg}")
    sys.exit(1)


def read_png(path):
    """Decode an 8-bit, non-interlaced RGB/RGBA/grey PNG into (width, height, channels, rows)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path}: not a PNG")
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or interlace != 0 or ctype not in (0, 2, 4, 6):
        fail(f"{path}: unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
    ch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(b"".join(idat))
    stride = width * ch
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        ftype, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - ch] if x >= ch else 0
            b = prev[x]
            c = prev[x - ch] if x >= ch else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, ch, rows


def pixels(png):
    width, height, ch, rows = png
    n = min(ch, 3)
    return [tuple(r[x * ch:x * ch + n]) for r in rows for x in range(width)]


def main():
    dom_path, frame, shot0, shotk = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    dom = open(dom_path, encoding="utf-8", errors="replace").read()
    if not re.search(r'<body[^>]*data-ready="1"', dom):
        fail("the page's script did not finish (no data-ready on <body>)")
    m = re.search(r'<body[^>]*data-frame="(\d+)"', dom)
    if not m or int(m.group(1)) != frame:
        fail(f"body data-frame is {m.group(1) if m else 'missing'}, expected {frame}")
    m = re.search(r'<span id="frame-index">(\d+)</span>', dom)
    if not m or int(m.group(1)) != frame:
        fail(f"#frame-index shows {m.group(1) if m else 'nothing'}, expected {frame}")
    m = re.search(r'<pre id="errors"[^>]*>(.*?)</pre>', dom, re.S)
    if m is None:
        fail("no #errors element in the dumped DOM")
    if m.group(1).strip():
        fail(f"script errors: {m.group(1).strip()}")
    print(f"    DOM: script finished, frame {frame} shown, no script error")
    images = []
    for path in (shot0, shotk):
        png = read_png(path)
        px = pixels(png)
        distinct = len(set(px))
        nonwhite = sum(1 for p in px if min(p) < 235) / len(px)
        print(f"    {path.rsplit('/', 1)[-1]}: {png[0]}x{png[1]}, {distinct} distinct colours, "
              f"{100 * nonwhite:.1f}% non-white pixels")
        if distinct < 32 or nonwhite < 0.01:
            fail(f"{path} looks blank")
        images.append(px)
    differ = sum(1 for a, b in zip(*images) if a != b) / len(images[0])
    print(f"    frames 0 and {frame} differ in {100 * differ:.2f}% of the pixels")
    if differ < 0.001:
        fail(f"the screenshots of frames 0 and {frame} are (almost) the same")


if __name__ == "__main__":
    main()
