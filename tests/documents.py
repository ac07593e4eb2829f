"""Small real documents of every kind attachments accept, and the impostors they must refuse, made in memory."""
from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

import openpyxl

WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
WORD_MACRO_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"
END_OF_CHAIN, FREE, FAT_SECTOR, NO_STREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def pdf(text: str = "招商引资项目落地审批材料") -> bytes:
    """A one-page PDF."""
    body = f"BT /F1 12 Tf 72 720 Td ({text.encode('unicode_escape').decode()}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(body) + body + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def png(width: int = 2, height: int = 2) -> bytes:
    """A small grey PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def jpg() -> bytes:
    """The start of a JFIF JPEG image (what the content check reads)."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


def _zip(parts: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


def docx(main_type: str = WORD_MAIN) -> bytes:
    """A Word document container (a macro-enabled one with WORD_MACRO_MAIN)."""
    types = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             '<Default Extension="xml" ContentType="application/xml"/>'
             f'<Override PartName="/word/document.xml" ContentType="{main_type}"/></Types>')
    return _zip({"[Content_Types].xml": types, "word/document.xml": "<w:document/>"})


def xlsx() -> bytes:
    """An Excel workbook written by openpyxl."""
    book = openpyxl.Workbook()
    book.active.append(["项目名称", "总投资"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def ofd() -> bytes:
    """An OFD document container (GB/T 33190): its entry file OFD.xml and one document."""
    return _zip({"OFD.xml": '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0"/>', "Doc_0/Document.xml": "<ofd:Document/>"})


def zip_of_anything() -> bytes:
    """A ZIP archive that is no document."""
    return _zip({"setup.exe": "MZ"})


def ole(stream: str) -> bytes:
    """An OLE2 compound file holding one 4,096-byte stream named `stream` (WordDocument for .doc, Workbook for .xls)."""
    sector, data_sectors = 512, 8
    header = bytearray(sector)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 40, 0, 1, 1, 0, 4096, END_OF_CHAIN, 0, END_OF_CHAIN, 0)
    struct.pack_into("<I", header, 76, 0)
    for index in range(1, 109):
        struct.pack_into("<I", header, 76 + 4 * index, FREE)
    fat = [FAT_SECTOR, END_OF_CHAIN] + [3 + i for i in range(data_sectors - 1)] + [END_OF_CHAIN]
    fat += [FREE] * (sector // 4 - len(fat))

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = bytearray(128)
        encoded = name.encode("utf-16-le")
        raw[0:len(encoded)] = encoded
        struct.pack_into("<HBBIII", raw, 64, len(encoded) + 2, kind, 1, NO_STREAM, NO_STREAM, child)
        struct.pack_into("<II", raw, 116, start, size)
        return bytes(raw)

    empty = bytearray(128)
    struct.pack_into("<III", empty, 68, NO_STREAM, NO_STREAM, NO_STREAM)
    directory = entry("Root Entry", 5, 1, END_OF_CHAIN, 0) + entry(stream, 2, NO_STREAM, 2, 4096) + bytes(empty) * 2
    return bytes(header) + struct.pack(f"<{sector // 4}I", *fat) + directory + b"\x01" * (sector * data_sectors)


def exe() -> bytes:
    """A Windows program's start (what a renamed .exe holds)."""
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run in DOS mode.\r\n"


ACCEPTED = {
    "审批材料.pdf": pdf(),
    "现场照片.png": png(),
    "现场照片.jpg": jpg(),
    "投资协议.docx": docx(),
    "投资明细.xlsx": xlsx(),
    "电子公文.ofd": ofd(),
    "情况说明.doc": ole("WordDocument"),
    "用地测算.xls": ole("Workbook"),
}
"""One file of every accepted kind, under a Chinese name with the right extension."""


def pages(printed: bytes) -> int:
    """How many pages a PDF (as Chromium prints it) has: its page objects, not the page tree's /Pages nodes."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", printed))
