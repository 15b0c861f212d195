"""The official blank forms carry exactly the names and labels of spec/declaration.md."""

from __future__ import annotations

import io
import xml.etree.ElementTree as etree
import zipfile
from pathlib import Path

import pypdf

from intake.forms import DOCX_NAME, PDF_NAME, blank_docx, blank_pdf, write_forms
from parsers.model import CONSENT_TEXT, FIELDS, TITLE

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
NS = {"w": W, "w14": W14}

# Spelled out here, not derived from parsers/model.py, so a drift in either fails the test.
PDF_TEXT_FIELDS = {
    "ime_priimek",
    "delovno_mesto",
    "e_naslov",
    "telefon",
    "naziv_organizacije",
    "obcina",
    "naslov",
    "interes_drugo_besedilo",
    "kraj_datum",
}
PDF_RADIO_GROUPS = {
    "vrsta_organizacije": {"obcina", "javni_zavod"},
    "vloga": {"pr_staff", "director", "mayor", "institution_pr", "other_employee"},
    "izkusnje": {"beginner", "experienced"},
}
PDF_CHECKBOXES = {
    "interes_mediji",
    "interes_omrezja",
    "interes_krizno",
    "interes_pisanje",
    "interes_splet",
    "interes_nastopanje",
    "interes_interno",
    "interes_drugo",
    "soglasje",
}


def test_write_forms_writes_both_files_with_the_blank_bytes(tmp_path: Path) -> None:
    docx_path, pdf_path = write_forms(tmp_path / "out")
    assert (docx_path.name, pdf_path.name) == (DOCX_NAME, PDF_NAME)
    assert docx_path.read_bytes()[:2] == b"PK"
    assert pdf_path.read_bytes() == blank_pdf()
    with zipfile.ZipFile(docx_path) as archive:
        assert archive.testzip() is None
        assert "word/document.xml" in archive.namelist()


def test_pdf_has_exactly_the_acroform_fields_of_the_spec() -> None:
    fields = pypdf.PdfReader(io.BytesIO(blank_pdf())).get_fields()
    assert fields is not None
    assert set(fields) == PDF_TEXT_FIELDS | set(PDF_RADIO_GROUPS) | PDF_CHECKBOXES
    for name in PDF_TEXT_FIELDS:
        assert fields[name]["/FT"] == "/Tx", name
        assert not fields[name].get("/V"), name
    for name, values in PDF_RADIO_GROUPS.items():
        assert fields[name]["/FT"] == "/Btn", name
        assert {state.lstrip("/") for state in fields[name]["/_States_"]} == values, name
        assert fields[name].get("/V") in (None, "/Off"), name
    for name in PDF_CHECKBOXES:
        assert fields[name]["/FT"] == "/Btn", name
        assert set(fields[name]["/_States_"]) == {"/Yes", "/Off"}, name
        assert fields[name]["/V"] == "/Off", name


def test_pdf_prints_the_title_labels_options_and_consent() -> None:
    reader = pypdf.PdfReader(io.BytesIO(blank_pdf()))
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    assert " ".join(TITLE.split()) in text
    assert CONSENT_TEXT in text
    for spec in FIELDS:
        assert spec.label in text, spec.label
        for choice in spec.choices:
            assert choice.label in text, choice.label


def _document_bytes() -> bytes:
    with zipfile.ZipFile(io.BytesIO(blank_docx())) as archive:
        return archive.read("word/document.xml")


def _document_xml() -> etree.Element:
    return etree.fromstring(_document_bytes())


def _paragraph_text(paragraph: etree.Element) -> str:
    return "".join(paragraph.itertext()).replace("\u00a0", " ").strip()


def test_docx_declares_w14_as_ignorable() -> None:
    head = _document_bytes().split(b">", 2)[1].decode()  # the w:document start tag
    assert f'xmlns:w14="{W14}"' in head
    assert f'xmlns:mc="{MC}"' in head
    assert "w14" in _document_xml().get(f"{{{MC}}}Ignorable", "").split()


def test_docx_table_has_every_label_and_every_option_behind_an_unticked_checkbox() -> None:
    root = _document_xml()
    rows = root.findall(".//w:tbl/w:tr", NS)
    table: dict[str, etree.Element] = {}
    for row in rows:
        label_cell, value_cell = row.findall("w:tc", NS)
        table[_paragraph_text(label_cell)] = value_cell
    in_table = [spec for spec in FIELDS if spec.name not in ("interests_other", "place_date")]
    assert list(table) == [spec.label for spec in in_table]

    for spec in in_table:
        cell = table[spec.label]
        lines = cell.findall("w:p", NS)
        if spec.kind in ("text", "email"):
            assert [_paragraph_text(p) for p in lines] == [""], spec.label
            continue
        expected = (
            [c.label + (":" if c.value == "other" else "") for c in spec.choices]
            if spec.choices
            else [CONSENT_TEXT]
        )
        assert [_paragraph_text(p) for p in lines] == ["☐ " + e for e in expected], spec.label
        for paragraph in lines:
            first = next(child for child in paragraph if child.tag != f"{{{W}}}pPr")
            assert first.tag == f"{{{W}}}sdt", spec.label
            checkbox = first.find("w:sdtPr/w14:checkbox", NS)
            assert checkbox is not None
            checked = checkbox.find("w14:checked", NS)
            assert checked is not None
            assert checked.get(f"{{{W14}}}val") == "0"
            states = {child.tag.split("}")[1]: child.get(f"{{{W14}}}val") for child in checkbox[1:]}
            assert states == {"checkedState": "2612", "uncheckedState": "2610"}
            assert _paragraph_text(first) == "☐"


def test_docx_has_title_heading_place_date_and_signature() -> None:
    paragraphs = [_paragraph_text(p) for p in _document_xml().findall("w:body/w:p", NS)]
    assert paragraphs[0] == "Skupnost občin Slovenije"
    assert TITLE in paragraphs
    assert "Kraj in datum:" in paragraphs
    assert "Podpis:" in paragraphs
