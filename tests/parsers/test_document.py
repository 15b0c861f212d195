"""parse_document: the kind from the bytes, and every unreadable input as data, never raised."""

from __future__ import annotations

import io
import zipfile

import pytest

from parsers.document import DEFAULT_LIMITS, Limits, parse_document, sniff
from parsers.model import UNREADABLE_ATTACHMENT
from tests.parsers.builders import (
    ANA,
    ANA_LINES,
    ANA_MARKS,
    ANA_TEXT,
    image_pdf,
    make_docx,
    official_rows,
    text_pdf,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def _docx() -> bytes:
    return make_docx(official_rows(ANA_TEXT, ANA_MARKS))


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "filename", "kind"), [
    (b"%PDF-1.7\n...", "a.docx", "pdf"),
    (PNG, "izjava.docx", "image"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 20, None, "image"),
    (OLE2, "izjava.docx", "doc"),
    (_zip({"mimetype": b"application/vnd.oasis.opendocument.text"}), "a.docx", "odt"),
    (_zip({"a.txt": b"x"}), "izjava.docx", "zip"),
    (b"<!DOCTYPE html><html><body>x</body></html>", "a.txt", "html"),
    (b"Ime in priimek: Ana Novak\n", None, "text"),
    ("Ime in priimek: Ana Novak\n".encode("cp1250"), None, "text"),
    (bytes(range(256)) * 4, "a.bin", "unknown"),
    (b"", None, "unknown"),
])
def test_sniff(data: bytes, filename: str | None, kind: str) -> None:
    assert sniff(data, filename) == kind


def test_sniff_docx() -> None:
    assert sniff(_docx(), "izjava.pdf") == "docx"


def test_docx_declaration() -> None:
    [declaration] = parse_document(_docx(), "izjava.docx")
    assert (declaration.fields, declaration.problems, declaration.source, declaration.extra) == (
        ANA, (), "izjava.docx", {"kind": "docx"})


def test_text_attachment() -> None:
    data = "\n".join(ANA_LINES).encode("cp1250")
    [declaration] = parse_document(data, "izjava.txt")
    assert declaration.fields == ANA and declaration.extra == {"kind": "text"}


def test_missing_fields_are_problems() -> None:
    [declaration] = parse_document(text_pdf([ANA_LINES[:4]]), "izjava.pdf")
    assert declaration.problems == ("missing:organization_type", "missing:organization",
                                    "missing:role", "missing:consent")


def _unreadable(data: bytes, filename: str = "izjava.docx", limits: Limits = DEFAULT_LIMITS) -> str:
    [declaration] = parse_document(data, filename, limits=limits)
    assert declaration.fields == {} and declaration.problems == (UNREADABLE_ATTACHMENT,)
    assert declaration.source == filename and declaration.detail
    return declaration.detail


def _bomb() -> bytes:
    # 8 MB of zeros deflate to ~8 KB: a ratio of ~1000, declared in the central directory.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        with archive.open("word/document.xml", "w") as stream:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(8):
                stream.write(chunk)
    return buffer.getvalue()


def test_unreadable_inputs() -> None:
    docx = _docx()
    assert "zip bomb" in _unreadable(_bomb())
    assert "ZIP" in _unreadable(docx[: len(docx) // 2])  # truncated
    assert "ZIP" in _unreadable(b"PK\x03\x04" + b"\x00" * 100)  # corrupt zip
    assert "slika" in _unreadable(PNG)  # a .docx that is really a PNG
    assert ".doc" in _unreadable(OLE2, "izjava.doc")
    assert "sken" in _unreadable(image_pdf(), "sken.pdf")
    assert "poškodovan" in _unreadable(b"%PDF-1.4\n1 0 obj <<", "izjava.pdf")
    assert "prevelika" in _unreadable(b"\x00" * (30 * 1024 * 1024), "blob.bin")
    assert "neznana" in _unreadable(bytes(range(256)) * 4, "x.bin")


def test_too_many_zip_entries() -> None:
    data = _zip({f"word/f{index}.xml": b"" for index in range(20)})
    assert "preveč" in _unreadable(data, limits=Limits(max_zip_entries=10))


def test_zip_declaring_too_much() -> None:
    assert "prevelika" in _unreadable(_docx(), limits=Limits(max_zip_uncompressed=1000))


def test_a_docx_without_declaration_is_empty() -> None:
    assert parse_document(make_docx(before=["Račun št. 17", "Znesek: 120 EUR"]), "r.docx") == []


def test_mangled_bytes_never_raise() -> None:
    for data in (_docx(), text_pdf([ANA_LINES])):
        for step in range(1, 9):
            mangled = bytearray(data)
            for index in range(step * 97, len(mangled), max(1, len(mangled) // 40)):
                mangled[index] ^= 0x5A
            result = parse_document(bytes(mangled), "x")
            assert isinstance(result, list)
