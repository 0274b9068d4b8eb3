"""Draw geo-grid's icon once, as SVG (for pages) and ICO (for ``/favicon.ico``), from one design.

The icon is ours: a blue tile crossed by a white 3 × 3 grid with one cell picked out in amber (a
grid on a map). Run ``python scripts/make_favicon.py`` after changing :data:`SHAPES`; both files in
``geo_grid/static/img/`` are committed. Standard library only: the ICO holds one 32 × 32 PNG drawn
here with 4 × 4 supersampling.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "geo_grid" / "static" / "img"
SIZE = 32
#: (x, y, width, height, corner radius, colour), painted in order on a 32 × 32 canvas
SHAPES: tuple[tuple[float, float, float, float, float, str], ...] = (
    (0, 0, 32, 32, 6, "#2b6cb0"),
    (20, 7, 5, 5, 0, "#ffca28"),
    (5, 5, 22, 2, 0, "#ffffff"),
    (5, 25, 22, 2, 0, "#ffffff"),
    (5, 5, 2, 22, 0, "#ffffff"),
    (25, 5, 2, 22, 0, "#ffffff"),
    (12, 5, 1.5, 22, 0, "#ffffff"),
    (18.5, 5, 1.5, 22, 0, "#ffffff"),
    (5, 12, 22, 1.5, 0, "#ffffff"),
    (5, 18.5, 22, 1.5, 0, "#ffffff"),
)


def svg() -> str:
    rects = "".join(
        f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}"'
        + (f' rx="{r:g}"' if r else "")
        + f' fill="{c}"/>'
        for x, y, w, h, r, c in SHAPES
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}">'
        f"<title>geo-grid</title>{rects}</svg>\n"
    )


def _inside(px: float, py: float, shape: tuple) -> bool:
    x, y, w, h, r, _ = shape
    if not (x <= px < x + w and y <= py < y + h):
        return False
    cx = min(max(px, x + r), x + w - r)
    cy = min(max(py, y + r), y + h - r)
    return (px - cx) ** 2 + (py - cy) ** 2 <= r * r


def _pixel(i: int, j: int, n: int = 4) -> bytes:
    """RGBA of pixel (i, j): the shapes' colours averaged over n × n samples (alpha = coverage)."""
    total = [0.0, 0.0, 0.0, 0.0]
    for a in range(n):
        for b in range(n):
            px, py = i + (a + 0.5) / n, j + (b + 0.5) / n
            colour = None
            for shape in SHAPES:
                if _inside(px, py, shape):
                    colour = shape[5]
            if colour is not None:
                rgb = [int(colour[k : k + 2], 16) for k in (1, 3, 5)]
                for k in range(3):
                    total[k] += rgb[k]
                total[3] += 255
    covered = total[3] / 255 or 1
    return bytes([round(total[0] / covered), round(total[1] / covered),
                  round(total[2] / covered), round(total[3] / (n * n))])  # fmt: skip


def png() -> bytes:
    raw = b"".join(b"\x00" + b"".join(_pixel(i, j) for i in range(SIZE)) for j in range(SIZE))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))  # fmt: skip


def ico() -> bytes:
    """An ICO holding one PNG image (supported by every browser since IE 9)."""
    image = png()
    directory = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(image), 6 + 16)
    return directory + entry + image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "favicon.svg").write_text(svg(), encoding="utf-8")
    (OUT / "favicon.ico").write_bytes(ico())
    print(f"wrote {OUT / 'favicon.svg'} and {OUT / 'favicon.ico'}")


if __name__ == "__main__":
    main()
