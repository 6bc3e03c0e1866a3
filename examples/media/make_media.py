"""Regenerate the binary assets of this example: the web font, the image and the video clip.

Only needed to change them; they are committed. Needs fontTools and brotli (for WOFF2) and
an ffmpeg with libvpx on PATH. Run from anywhere: ``python examples/media/make_media.py``.

What each file is made to show in a browser:
- ``fonts/probe.woff2``: every letter is one box two em wide, so text set in it measures
  exactly twice its font size per letter; no fallback font does that.
- ``img/tiles.png``: a 64x48 pattern, so its natural size proves it was decoded.
- ``video/clip.webm``: 12 s of VP9, red for the first 6 s and blue after, with a keyframe
  every second; a seek past 6 s must show blue.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"


def make_font(path: Path) -> None:
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    def box(width: int, height: int):
        pen = TTGlyphPen(None)
        if width:
            pen.moveTo((100, 0))
            pen.lineTo((100, height))
            pen.lineTo((width - 100, height))
            pen.lineTo((width - 100, 0))
            pen.closePath()
        return pen.glyph()

    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)] + [
        chr(c) for c in range(ord("a"), ord("z") + 1)
    ]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", "space", "box"])
    builder.setupCharacterMap({0x20: "space", **{ord(letter): "box" for letter in letters}})
    builder.setupGlyf({".notdef": box(500, 700), "space": box(0, 0), "box": box(2000, 700)})
    builder.setupHorizontalMetrics({".notdef": (500, 100), "space": (500, 0), "box": (2000, 100)})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Probe", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200)
    builder.setupPost()
    # Fixed timestamps: the same script makes the same bytes.
    builder.updateHead(created=0x7C25B080, modified=0x7C25B080)
    builder.font.flavor = "woff2"
    path.parent.mkdir(parents=True, exist_ok=True)
    builder.save(str(path))


def make_png(path: Path, width: int = 64, height: int = 48) -> None:
    rows = b"".join(
        b"\x00"
        + b"".join(
            bytes((x * 4, y * 5, 160 if (x // 8 + y // 8) % 2 else 40)) for x in range(width)
        )
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)


def make_video(path: Path) -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        sys.exit("make_media: ffmpeg is not on PATH")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Noise keeps the bitrate up, so the clip is large enough that a browser fetches it
    # in ranges rather than whole.
    source = (
        "color=c=red:s=320x180:r=24:d=6[a];color=c=blue:s=320x180:r=24:d=6[b];"
        "[a][b]concat=n=2:v=1:a=0,noise=alls=20:allf=t+u,format=yuv420p[out]"
    )
    subprocess.run(
        [ffmpeg, "-loglevel", "error", "-y", "-filter_complex", source, "-map", "[out]",
         "-c:v", "libvpx-vp9", "-crf", "36", "-b:v", "0", "-g", "24", "-keyint_min", "24",
         "-deadline", "good", "-cpu-used", "4", "-row-mt", "1", "-an",
         "-fflags", "+bitexact", "-flags:v", "+bitexact", str(path)],
        check=True,
    )  # fmt: skip


def main() -> None:
    make_font(ASSETS / "fonts" / "probe.woff2")
    make_png(ASSETS / "img" / "tiles.png")
    make_video(ASSETS / "video" / "clip.webm")
    for name in ("fonts/probe.woff2", "img/tiles.png", "video/clip.webm"):
        print(f"{name}: {(ASSETS / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
