"""PDF: AcroForm values, the text layer, encrypted and scanned files."""

from __future__ import annotations

import importlib.metadata

from parsers.document import parse_document
from parsers.model import TITLE
from parsers.pdf import ENCRYPTED, NO_TEXT, PDF_ACROFORM, PDF_TEXT, decode_pdf_text, parse_pdf
from tests.parsers.builders import (
    ANA,
    ANA_ACRO_TEXT,
    ANA_CHECKED,
    ANA_LINES,
    ANA_RADIOS,
    acroform_pdf,
    encrypt_pdf,
    image_pdf,
    text_pdf,
)


def test_pdfminer_is_the_patched_release() -> None:
    version = importlib.metadata.version("pdfminer.six")
    assert int(version.split(".")[0]) >= 20260107


def test_acroform_values() -> None:
    data = acroform_pdf(ANA_ACRO_TEXT, ANA_CHECKED, ANA_RADIOS)
    assert parse_pdf(data, 20) == (ANA, PDF_ACROFORM)


def test_acroform_wins_over_the_printed_text() -> None:
    printed = [*ANA_LINES[:1], "Ime in priimek: Janez Kovač", "Vloga: župan"]
    data = acroform_pdf(ANA_ACRO_TEXT, ANA_CHECKED, ANA_RADIOS, printed=printed)
    assert parse_pdf(data, 20) == (ANA, PDF_ACROFORM)


def test_acroform_partly_filled_reports_what_is_missing() -> None:
    data = acroform_pdf({"ime_priimek": "Ana Novak", "interes_drugo_besedilo": "video"},
                        ("interes_drugo",), {"vloga": "mayor"})
    [declaration] = parse_document(data, "izjava.pdf")
    assert declaration.fields == {"full_name": "Ana Novak", "role": "mayor",
                                  "interests": ["other"], "interests_other": "video",
                                  "consent": False}
    assert declaration.problems == ("missing:job_title", "missing:email",
                                    "missing:organization_type", "missing:organization",
                                    "missing:consent")
    assert declaration.extra == {"kind": PDF_ACROFORM}


def test_unfilled_fillable_form_gives_no_consent() -> None:
    data = acroform_pdf({}, printed=[TITLE, "Soglasje: Soglašam, da ..."])
    assert parse_pdf(data, 20) == ({"consent": False}, PDF_TEXT)


def test_text_layer() -> None:
    assert parse_pdf(text_pdf([ANA_LINES]), 20) == (ANA, PDF_TEXT)


def test_text_layer_with_glyph_boxes() -> None:
    lines = [line.replace("[x]", "☒").replace("[ ]", "☐") for line in ANA_LINES]
    assert parse_pdf(text_pdf([lines]), 20) == (ANA, PDF_TEXT)


def test_pages_beyond_the_cap_are_not_read() -> None:
    data = text_pdf([["Uvod"], ANA_LINES])
    assert parse_pdf(data, 1) == (None, PDF_TEXT)
    assert parse_pdf(data, 2) == (ANA, PDF_TEXT)


def test_encrypted() -> None:
    assert parse_pdf(encrypt_pdf(text_pdf([ANA_LINES])), 20) == (None, ENCRYPTED)


def test_scan_without_text() -> None:
    assert parse_pdf(image_pdf(), 20) == (None, NO_TEXT)


def test_a_letter_is_no_declaration() -> None:
    data = text_pdf([["Spoštovani,", "vabimo vas na seminar.", "Lep pozdrav"]])
    assert parse_pdf(data, 20) == (None, PDF_TEXT)
    assert parse_document(data, "vabilo.pdf") == []


def test_decode_pdf_text_strings() -> None:
    assert decode_pdf_text(b"\xfe\xff\x00A\x01\x0d") == "Ač"
    assert decode_pdf_text(b"\xef\xbb\xbf\xc5\xbe") == "ž"
    assert decode_pdf_text(b"Caf\xe9 \x80") == "Café •"
