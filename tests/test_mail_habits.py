"""Habits of odd mail clients: how the declaration travels, and that intake still finds it.

Each message is raw bytes as the client writes it; `declarations_in` is what the pipeline
runs on it (with the unsandboxed `parse_document`).
"""

from __future__ import annotations

import base64
import binascii
import io
import struct
import zipfile
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.policy import SMTP
from typing import cast

import pytest

from intake.cycle import declarations_in
from intake.reading import read_message
from intake.samples import fill_docx, fill_pdf
from parsers.document import parse_document
from parsers.model import UNREADABLE_ATTACHMENT, Declaration, Fields
from tests.parsers.builders import ANA, ANA_LINES

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HEAD = (
    "From: Ana Novak <ana.novak@kranj.si>\r\n"
    "To: metka.lasic@skupnostobcin.si\r\n"
    "Subject: Izjava o pristopu\r\n"
    "MIME-Version: 1.0\r\n"
)


@pytest.fixture(scope="module")
def docx() -> bytes:
    return fill_docx(cast(Fields, ANA))


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return fill_pdf(cast(Fields, ANA))


# --- builders ------------------------------------------------------------------------------


def with_attachments(*attachments: tuple[str, str, bytes], body: str = "Izjava je v prilogi."
                     ) -> bytes:
    """A multipart/mixed message; attachments are (filename, content type, data)."""
    message = EmailMessage()
    message["From"] = "Ana Novak <ana.novak@kranj.si>"
    message["Subject"] = "Izjava o pristopu"
    message.set_content(body)
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes(policy=SMTP)


def single_part(content_type: str, body: bytes, encoding: str = "8bit") -> bytes:
    head = HEAD + f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"
    return head.encode("ascii") + body


def zipped(entries: Sequence[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def tnef(files: Sequence[tuple[str, bytes]]) -> bytes:
    """A winmail.dat as Outlook writes it for "Rich Text" mail: the TNEF signature, a key,
    then attributes (level, id, length, data, checksum), one attAttachData per file."""

    def attribute(level: int, ident: int, data: bytes) -> bytes:
        checksum = struct.pack("<H", sum(data) & 0xFFFF)
        return struct.pack("<BII", level, ident, len(data)) + data + checksum

    out = struct.pack("<IH", 0x223E9F78, 0x0001)
    out += attribute(1, 0x00089006, b"\x00\x00\x01\x00")  # attTnefVersion
    for name, data in files:
        out += attribute(2, 0x00069002, bytes(14))  # attAttachRendData: a new attachment
        out += attribute(2, 0x00018010, name.encode() + b"\x00")  # attAttachTitle
        out += attribute(2, 0x0006800F, data)  # attAttachData
    return out


def uuencoded(data: bytes, name: str) -> str:
    lines = [f"begin 644 {name}"]
    lines += [binascii.b2a_uu(data[i:i + 45]).decode("ascii").rstrip("\n")
              for i in range(0, len(data), 45)]
    return "\r\n".join([*lines, "`", "end"])


def found(raw: bytes) -> list[Declaration]:
    return declarations_in(read_message(raw), parse_document)


def unreadable_details(declarations: list[Declaration]) -> list[str]:
    return [d.detail for d in declarations if UNREADABLE_ATTACHMENT in d.problems]


# --- Outlook "Rich Text": winmail.dat ------------------------------------------------------


def test_winmail_dat_gets_a_clear_unreadable_detail(docx: bytes) -> None:
    """No library unwraps TNEF here (tnefparse is unmaintained and unbounded on crafted
    input); the applicant is told what happened and how to send the declaration instead of
    "unknown file type"."""
    raw = with_attachments(("winmail.dat", "application/ms-tnef", tnef([("izjava.docx", docx)])))
    [declaration] = found(raw)
    assert declaration.problems == (UNREADABLE_ATTACHMENT,)
    assert "winmail.dat" in declaration.detail and "Outlook" in declaration.detail


# --- archives ------------------------------------------------------------------------------


def test_declarations_inside_a_zip_are_read(docx: bytes, pdf: bytes) -> None:
    """macOS's Compress adds __MACOSX/._* resource forks: they are not documents."""
    archive = zipped([("Izjave/izjava.docx", docx), ("__MACOSX/Izjave/._izjava.docx", b"\0\5"),
                      ("Izjave/.DS_Store", b"\0\0\0\1Bud1"), ("Izjave/izjava.pdf", pdf)])
    declarations = found(with_attachments(("izjave.zip", "application/x-zip-compressed", archive)))
    assert [(d.fields, d.problems) for d in declarations] == [(ANA, ())]
    assert declarations[0].source in ("izjave.zip: izjava.docx", "izjave.zip: izjava.pdf")


def test_a_zip_entry_name_is_only_a_label(docx: bytes) -> None:
    archive = zipped([("../../../etc/cron.d/izjava.docx", docx)])
    [declaration] = parse_document(archive, "x.zip")
    assert declaration.fields == ANA
    assert declaration.source == "x.zip: izjava.docx"


def test_zip_bomb_in_a_zip_is_refused_before_inflating() -> None:
    archive = zipped([("izjava.docx", bytes(60 * 2**20))])
    [declaration] = parse_document(archive, "izjava.zip")
    assert declaration.problems == (UNREADABLE_ATTACHMENT,)
    assert "zip bomb" in declaration.detail


def test_a_zip_inside_a_zip_is_not_opened(docx: bytes) -> None:
    archive = zipped([("notri.zip", zipped([("izjava.docx", docx)]))])
    assert unreadable_details(parse_document(archive, "zunaj.zip")) == [
        "arhiv ZIP v arhivu ZIP, ki ga ne odpiramo"]


def test_an_empty_zip_is_unreadable_not_silent() -> None:
    [declaration] = parse_document(zipped([("__MACOSX/._x", b"\0")]), "izjava.zip")
    assert declaration.detail == "prazen arhiv ZIP"


# --- S/MIME and PGP ------------------------------------------------------------------------

# The head of a CMS ContentInfo in DER: SEQUENCE (indefinite or definite length), then the
# OID 1.2.840.113549.1.7.3 (enveloped data) or .7.2 (signed data), as openssl writes them.
ENVELOPED = b"\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03\xa0\x80" + bytes(range(256))
SIGNED_DATA = b"\x30\x82\x05\x10\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02\xa0" + bytes(300)


def test_smime_encrypted_message_says_encrypted() -> None:
    raw = single_part('application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"',
                      base64.encodebytes(ENVELOPED), "base64")
    assert ["šifrirano" in detail for detail in unreadable_details(found(raw))] == [True]


def test_smime_opaque_signed_message_says_so() -> None:
    raw = single_part('application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"',
                      base64.encodebytes(SIGNED_DATA), "base64")
    assert ["podpisano sporočilo S/MIME" in detail
            for detail in unreadable_details(found(raw))] == [True]


def test_pgp_mime_encrypted_message_says_encrypted() -> None:
    raw = (HEAD + 'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; '
           'boundary="PP"\r\n\r\n--PP\r\nContent-Type: application/pgp-encrypted\r\n\r\n'
           'Version: 1\r\n--PP\r\nContent-Type: application/octet-stream; name="encrypted.asc"'
           '\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA5xK0ivTb0SBAQf/Yx3k\r\n=q0Bd\r\n'
           '-----END PGP MESSAGE-----\r\n--PP--\r\n').encode("ascii")
    assert ["šifrirano" in detail for detail in unreadable_details(found(raw))] == [True]


# --- old clients: uuencoded files in the body ----------------------------------------------


def test_uuencoded_declaration_in_a_plain_body_is_read(docx: bytes) -> None:
    body = "Pozdravljeni, izjava je priložena.\r\n\r\n" + uuencoded(docx, "../../izjava.docx")
    raw = single_part("text/plain; charset=utf-8", (body + "\r\n\r\nLp, Ana\r\n").encode())
    view = read_message(raw)
    assert [(a.filename, a.data) for a in view.attachments] == [("izjava.docx", docx)]
    assert "begin 644" not in view.body_text and "Lp, Ana" in view.body_text
    assert [(d.fields, d.source) for d in declarations_in(view, parse_document)] == [
        (ANA, "izjava.docx")]


# --- charsets ------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["cp1250", "iso-8859-2"])
def test_central_european_body_labelled_latin_1(encoding: str) -> None:
    """Outlook on a Slovenian Windows labels windows-1250 bytes iso-8859-1: "občina" would
    read "obèina" and the organisation type would be lost."""
    raw = single_part("text/plain; charset=iso-8859-1", "\r\n".join(ANA_LINES).encode(encoding))
    assert [(d.fields, d.problems) for d in found(raw)] == [(ANA, ())]


@pytest.mark.parametrize(
    ("charset", "text"),
    [("iso-8859-2", "Občina Šenčur, Žiga"), ("windows-1250", "Občina Šenčur, Žiga"),
     ("iso-8859-1", "Grüße aus Österreich")],
)
def test_a_label_that_fits_is_kept(charset: str, text: str) -> None:
    view = read_message(single_part(f"text/plain; charset={charset}", text.encode(charset)))
    assert view.body_text == text


# --- forwarded messages saved as files -----------------------------------------------------


def test_eml_attached_as_octet_stream_is_read_as_a_forward(docx: bytes) -> None:
    """Webmails attach a saved message as application/octet-stream named *.eml."""
    inner = with_attachments(("izjava.docx", DOCX_TYPE, docx), body="Izjava v prilogi.")
    view = read_message(with_attachments(("Izjava.eml", "application/octet-stream", inner),
                                         body="Posredujem."))
    assert [text.strip() for text in view.forwarded_bodies] == ["Izjava v prilogi."]
    assert [(d.fields, d.source) for d in declarations_in(view, parse_document)] == [
        (ANA, "izjava.docx")]


# --- habits that already worked, kept working ----------------------------------------------


def _flowed_delsp() -> bytes:
    """Thunderbird's format=flowed; delsp=yes: long lines broken inside, a space kept."""
    lines: list[str] = []
    for line in ANA_LINES:
        cut = line.find(" ", 20)
        lines += [line[:cut + 1] + " ", line[cut + 1:]] if len(line) > 30 and cut > 0 else [line]
    return single_part("text/plain; charset=utf-8; format=flowed; delsp=yes",
                       "\r\n".join(lines).encode())


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(_flowed_delsp, id="format-flowed-delsp"),
        pytest.param(lambda: single_part("text/plain; charset=utf-16", base64.encodebytes(
            "\r\n".join(ANA_LINES).encode("utf-16")), "base64"), id="utf-16-body"),
    ],
)
def test_body_habits(make: Callable[[], bytes]) -> None:
    assert [(d.fields, d.problems) for d in found(make())] == [(ANA, ())]


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [("izjava.docx", "application/msword"), ("izjava.docm", "application/vnd.ms-word."
     "document.macroEnabled.12"), ("izjava", "application/octet-stream"),
     ("izjava.dotx", "application/octet-stream")],
)
def test_docx_under_other_names_and_types(docx: bytes, filename: str, content_type: str) -> None:
    declarations = found(with_attachments((filename, content_type, docx)))
    assert [(d.fields, d.source) for d in declarations] == [(ANA, filename)]


def test_pdf_named_docx_pdf(pdf: bytes) -> None:
    declarations = found(with_attachments(("Izjava.docx.pdf", "application/pdf", pdf)))
    assert [(d.fields, d.source) for d in declarations] == [(ANA, "Izjava.docx.pdf")]


def test_smime_signed_declaration_is_read(docx: bytes) -> None:
    signed = (HEAD + 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
              'micalg=sha-256; boundary="SS"\r\n\r\n--SS\r\n').encode("ascii")
    content = with_attachments(("izjava.docx", DOCX_TYPE, docx)).split(b"\r\n\r\n", 1)
    mime_head = b"\r\n".join(line for line in content[0].split(b"\r\n")
                             if line.lower().startswith((b"content-", b" ", b"\t")))
    signed += mime_head + b"\r\n\r\n" + content[1] + (
        b"\r\n--SS\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(SIGNED_DATA)
        + b"--SS--\r\n")
    assert [(d.fields, d.source) for d in found(signed)] == [(ANA, "izjava.docx")]


# --- alternatives and inline encryption ----------------------------------------------------


def test_the_html_alternative_is_read_when_the_plain_one_lost_the_table() -> None:
    """Some webmail and phone clients write a plain alternative without the table's text."""
    rows = [
        ("Ime in priimek", "Ana Novak"),
        ("Delovno mesto / funkcija", "svetovalka za odnose z javnostmi"),
        ("E-naslov", "ana.novak@kranj.si"),
        ("Vrsta organizacije", "☒ občina ☐ javni zavod občine"),
        ("Naziv organizacije", "Mestna občina Kranj"),
        ("Vloga pri stikih z javnostmi",
         "☒ strokovni sodelavec / strokovna sodelavka za stike z javnostmi v občini"),
        ("Soglasje", "☒ Soglašam"),
    ]
    cells = "".join(f"<tr><td>{label}</td><td>{value}</td></tr>" for label, value in rows)
    message = EmailMessage()
    message["From"] = "Ana Novak <ana.novak@kranj.si>"
    message["Subject"] = "Izjava o pristopu k mreži komunikatorjev"
    message.set_content("Pošiljam izjavo o pristopu k mreži komunikatorjev.\n[tabela]\n")
    message.add_alternative(f"<html><body><p>Pošiljam izjavo.</p><table>{cells}</table>"
                            "</body></html>", subtype="html")
    [declaration] = found(message.as_bytes(policy=SMTP))
    assert declaration.fields["full_name"] == ANA["full_name"]
    assert declaration.fields["email"] == ANA["email"]
    assert declaration.problems == ()


def test_an_inline_pgp_body_says_encrypted() -> None:
    body = (b"-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA5bA8kQ2Zc7mAQf/Xx\r\n=abcd\r\n"
            b"-----END PGP MESSAGE-----\r\n")
    details = unreadable_details(found(single_part("text/plain; charset=us-ascii", body)))
    assert len(details) == 1 and "šifrirano" in details[0]
