"""One attachment in, its declarations out: the kind from the bytes, then the right reader.

`parse_document` is the boundary the pipeline (and the sandbox's worker process) calls with
untrusted bytes. It never raises for any input: whatever a reader cannot make sense of
becomes an `unreadable_attachment` declaration whose detail says why, in words the
coordinator understands. Memory and time limits are the sandbox's job.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

from parsers.body import html_to_text, parse_bodies
from parsers.docx import DocxError, parse_docx_all
from parsers.limits import DEFAULT_LIMITS, MB, Limits, read_member, zip_refusal
from parsers.model import UNREADABLE_ATTACHMENT, Declaration, Fields, missing_problems
from parsers.odt import OdtError, parse_odt_all
from parsers.pdf import KINDS as PDF_KINDS
from parsers.pdf import parse_pdf_all

__all__ = ["DEFAULT_LIMITS", "Limits", "parse_document", "sniff"]

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_IMAGES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00",
           b"MM\x00*", b"BM")
_HTML = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
    re.IGNORECASE | re.DOTALL,
)
_HTML_ANYWHERE = re.compile(rb"<(?:html|body|table|p|div|br)\b[^>]*>", re.IGNORECASE)
_TEXT_NAMES = (".txt", ".text", ".csv", ".eml", ".md")
_ODT_MIME = b"application/vnd.oasis.opendocument.text"
_TNEF = b"\x78\x9f\x3e\x22"  # winmail.dat: Outlook's "Rich Text" wrapper (signature 0x223E9F78)
_PGP = re.compile(rb"^\s*-----BEGIN PGP MESSAGE-----")
# DER of a CMS ContentInfo: SEQUENCE, then the content type's OID 1.2.840.113549.1.7.n.
_CMS = re.compile(rb"^\x30(?:\x80|[\x00-\x7f]|\x81.|\x82..|\x83...|\x84....)"
                  rb"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07([\x02\x03])", re.DOTALL)


def sniff(data: bytes, filename: str | None = None) -> str:
    """The document's kind from its leading bytes; the file name only breaks a text tie.

    One of: pdf, docx, doc (OLE2, legacy Word and its kin), odt, rtf, zip, image, html, text,
    tnef, encrypted (S/MIME enveloped data, PGP), smime-signed (S/MIME opaque signed data),
    unknown.
    """
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(_TNEF):
        return "tnef"
    if _PGP.match(head):
        return "encrypted"
    cms = _CMS.match(head)
    if cms:
        return "encrypted" if cms.group(1) == b"\x03" else "smime-signed"
    if head.startswith(_ZIP):
        return _sniff_zip(data)
    if head.startswith(_OLE2):
        return "doc"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(_IMAGES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if b"\x00" in head[:512] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "unknown"
    if _HTML.match(head.lstrip(b"\xef\xbb\xbf")):
        return "html"
    if not data:
        return "text" if _named_text(filename) else "unknown"
    text = decode_text(data[:4096])
    printable = sum(1 for char in text if char.isprintable() or char in "\r\n\t")
    if printable >= 0.95 * len(text) or (printable >= 0.8 * len(text) and _named_text(filename)):
        if _HTML_ANYWHERE.search(head) and (filename or "").lower().endswith((".htm", ".html")):
            return "html"
        return "text"
    return "unknown"


def _named_text(filename: str | None) -> bool:
    return (filename or "").lower().endswith(_TEXT_NAMES)


def _sniff_zip(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size < 200:
                    with archive.open(info) as stream:
                        if stream.read(200).strip() == _ODT_MIME:
                            return "odt"
            if any(name.startswith("word/") for name in names):
                return "docx"
            return "zip"
    except Exception:
        # A broken archive: the local headers still name the parts.
        if b"word/" in data[:65536]:
            return "docx"
        if _ODT_MIME in data[:200]:
            return "odt"
        return "zip"


def decode_text(data: bytes) -> str:
    """Text of unknown encoding: a BOM, else UTF-8, else Windows-1250 (Slovenian Windows)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start >= len(data) - 3:  # a multibyte character cut by a sample
            return data[: error.start].decode("utf-8")
    return data.decode("cp1250", "replace")


_UNREADABLE_DETAILS = {
    "doc": "starejši format Word (.doc), ki ga ne beremo; prosimo za DOCX ali PDF",
    "rtf": "dokument RTF, ki ga ne beremo; prosimo za DOCX ali PDF",
    "zip": "arhiv ZIP, ki ni dokument Word",
    "tnef": (
        "priloga winmail.dat (Outlookova oblika »obogateno besedilo«), ki je ne beremo; "
        "prosimo, pošljite izjavo znova kot DOCX ali PDF v sporočilu z obliko HTML ali "
        "navadno besedilo"
    ),
    "encrypted": (
        "šifrirano sporočilo (S/MIME ali PGP), ki ga ne moremo prebrati; prosimo, pošljite "
        "izjavo nešifrirano"
    ),
    "smime-signed": (
        "podpisano sporočilo S/MIME v obliki, ki je ne beremo; prosimo, pošljite izjavo "
        "brez podpisa ali s podpisom kot ločeno prilogo"
    ),
    "image": "slika (sken ali fotografija), iz katere besedila ne beremo",
    "unknown": "neznana vrsta datoteke",
}


def parse_document(
    data: bytes, filename: str | None = None, *, limits: Limits = DEFAULT_LIMITS
) -> list[Declaration]:
    """The declarations in one attachment (see the module docstring for the contract).

    [] when it is readable and holds no declaration; one unreadable declaration when it
    cannot be read; otherwise one declaration with its missing-field problems. A ZIP archive
    (people zip their documents) yields the declarations of the documents inside it.
    """
    return _parse(data, filename or "", limits, in_archive=False)


def _parse(data: bytes, source: str, limits: Limits, *, in_archive: bool) -> list[Declaration]:
    try:
        if len(data) > limits.max_bytes:
            return [_unreadable(source, f"datoteka je prevelika ({len(data) // MB} MB)")]
        kind = sniff(data, source)
        if kind == "zip":
            if in_archive:
                return [_unreadable(source, "arhiv ZIP v arhivu ZIP, ki ga ne odpiramo")]
            return _parse_archive(data, source, limits)
        found, detail = _read(kind, data, limits)  # detail: the reader's kind, or why not
    except RecursionError:
        return [_unreadable(source, "preveč ugnezdena struktura dokumenta")]
    except Exception as error:  # untrusted bytes: any reader failure is "cannot be read"
        return [_unreadable(source, _broken(error))]
    if not found:
        return [_unreadable(source, detail)] if detail else []
    return [
        Declaration(fields=fields, problems=missing_problems(fields),
                    source=source if number == 1 else f"{source} ({number})",
                    extra={"kind": detail})
        for number, fields in enumerate(found, 1)
    ]


# Entries that zip tools add beside the documents: macOS resource forks, folder thumbnails.
_ARCHIVE_JUNK = re.compile(r"(?:^|/)(?:__MACOSX/|\._|\.DS_Store$|Thumbs\.db$|desktop\.ini$)",
                           re.IGNORECASE)
MAX_ARCHIVE_DOCUMENTS = 20  # a declaration and its kin; an archive of more is not an application


def _parse_archive(data: bytes, source: str, limits: Limits) -> list[Declaration]:
    """The declarations of the documents in a ZIP archive, read from memory.

    The central directory is checked before anything is inflated (zip_refusal), each entry is
    read with a cap, and an entry's name is only ever a label: its last component, never a
    path. Nested archives are not opened.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        refusal = zip_refusal(archive, limits)
        if refusal:
            return [_unreadable(source, refusal)]
        entries = [info for info in archive.infolist()
                   if not info.is_dir() and not _ARCHIVE_JUNK.search(info.filename)]
        if not entries:
            return [_unreadable(source, "prazen arhiv ZIP")]
        if len(entries) > MAX_ARCHIVE_DOCUMENTS:
            return [_unreadable(source, f"ZIP ima preveč datotek ({len(entries)})")]
        found: list[Declaration] = []
        for info in entries:
            name = re.split(r"[/\\]", info.filename)[-1].lstrip(". ") or "?"
            label = f"{source}: {name}" if source else name
            try:
                member = read_member(archive, info.filename, limits.max_bytes)
            except Exception as error:  # one bad entry costs that entry, not its neighbours
                found.append(_unreadable(label, _broken(error)))
                continue
            found.extend(_parse(member, label, limits, in_archive=True))
        return found


def _read(kind: str, data: bytes, limits: Limits) -> tuple[list[Fields], str]:
    """(fields of each declaration, kind), ([], "") for none, ([], why) when unreadable."""
    reader = _READERS.get(kind)
    if reader is None:
        return [], _UNREADABLE_DETAILS.get(kind, _UNREADABLE_DETAILS["unknown"])
    return reader(data, limits)


def _read_pdf(data: bytes, limits: Limits) -> tuple[list[Fields], str]:
    found, kind = parse_pdf_all(data, limits.max_pages)
    if kind not in PDF_KINDS:
        return [], kind
    return (found, kind) if found else ([], "")


def _read_docx(data: bytes, limits: Limits) -> tuple[list[Fields], str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        refusal = zip_refusal(archive, limits)
    if refusal:
        return [], refusal
    found = parse_docx_all(data, limits=limits)
    return (found, "docx") if found else ([], "")


def _read_odt(data: bytes, limits: Limits) -> tuple[list[Fields], str]:
    found = parse_odt_all(data, limits=limits)
    return (found, "odt") if found else ([], "")


def _read_text(data: bytes, limits: Limits) -> tuple[list[Fields], str]:
    found = parse_bodies(decode_text(data))
    return ([d.fields for d in found], "text") if found else ([], "")


def _read_html(data: bytes, limits: Limits) -> tuple[list[Fields], str]:
    found = parse_bodies(html_to_text(decode_text(data)))
    return ([d.fields for d in found], "html") if found else ([], "")


_READERS: dict[str, Callable[[bytes, Limits], tuple[list[Fields], str]]] = {
    "pdf": _read_pdf,
    "docx": _read_docx,
    "odt": _read_odt,
    "text": _read_text,
    "html": _read_html,
}


def _broken(error: Exception) -> str:
    if isinstance(error, zipfile.BadZipFile):
        return "poškodovan dokument (ZIP/DOCX se ne odpre)"
    if isinstance(error, DocxError | OdtError):
        return str(error)
    return f"dokumenta ni mogoče prebrati ({type(error).__name__})"


def _unreadable(source: str, detail: str) -> Declaration:
    return Declaration(
        fields={}, problems=(UNREADABLE_ATTACHMENT,), source=source, detail=detail,
    )
