"""Small real files for the demo county's attachments: a one-page PDF and a PNG drawing, both passing the content check."""
from __future__ import annotations

import struct
import zlib

PAGE = (595, 842)  # A4 in points


def _utf16(text: str) -> str:
    """A PDF hex string of the text in UTF-16BE, as the UniGB-UCS2-H encoding reads it."""
    return "<" + text.encode("utf-16-be").hex().upper() + ">"


def pdf(title: str, lines: list[str]) -> bytes:
    """A one-page A4 PDF: the title and the lines in the standard Chinese font STSong-Light (not embedded, as PDF allows)."""
    text = [f"BT /F1 20 Tf 72 760 Td {_utf16(title)} Tj ET"]
    text += [f"BT /F1 12 Tf 72 {720 - 22 * i} Td {_utf16(line)} Tj ET" for i, line in enumerate(lines)]
    stream = "\n".join(["0.2 0.4 0.7 RG 2 w 72 745 m 523 745 l S", *text]).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 4 0 R >> >> /Contents 6 0 R >>" % PAGE,
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [5 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor 7 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880]"
        b" /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(bars: list[int], width: int = 320, height: int = 200) -> bytes:
    """An RGB PNG: a blue title band over a white sheet with one grey bar per entry of `bars` (its length in percent)."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # filter type 0 for every row
        band = y < 28
        bar = (y - 44) // 22 if y >= 44 and (y - 44) % 22 < 12 else -1
        for x in range(width):
            if band:
                pixel = (41, 98, 178)
            elif 0 <= bar < len(bars) and 20 <= x < 20 + (width - 40) * bars[bar] // 100:
                pixel = (150, 160, 175)
            else:
                pixel = (250, 250, 247)
            row += bytes(pixel)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + _chunk(b"IEND", b"")
