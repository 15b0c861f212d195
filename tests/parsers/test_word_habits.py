"""Word habits of people who fill the form in their own way: one test per habit, exact fields.

Each document is the WordprocessingML Word (or LibreOffice) writes for the habit, built raw
where python-docx has no model for it (text boxes, dropdown form fields, symbol fonts).
"""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from parsers.docx import parse_docx
from parsers.model import CONSENT_TEXT, TITLE
from parsers.text import read_lines
from tests.parsers.builders import make_docx

_NS = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "w14": "http://schemas.microsoft.com/office/word/2010/wordml",
    "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "wps": "http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
    "v": "urn:schemas-microsoft-com:vml",
}.items())


def _docx(*blocks: str) -> bytes:
    """A DOCX whose body is exactly these blocks (after the title paragraph)."""
    body = _p(TITLE) + "".join(blocks)
    document = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<w:document {_NS} mc:Ignorable="w14"><w:body>{body}</w:body></w:document>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", document)
    return buffer.getvalue()


def _r(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def _p(*parts: str) -> str:
    """A paragraph of runs: plain strings become runs, XML (starting with "<") stays."""
    return "<w:p>" + "".join(part if part.startswith("<") else _r(part) for part in parts) + \
        "</w:p>"


def _row(*cells: list[str] | str) -> str:
    """A table row; a cell is a paragraph's text or a list of ready paragraphs."""
    xml = "".join(
        "<w:tc>" + ("".join(cell) if isinstance(cell, list) else _p(cell)) + "</w:tc>"
        for cell in cells)
    return f"<w:tr>{xml}</w:tr>"


def _table(*rows: str) -> str:
    return f"<w:tbl>{''.join(rows)}</w:tbl>"


def _text_box(*paragraphs: str) -> str:
    """A floating text box as Word 2010+ saves it: DrawingML, and the same box again in VML
    for older readers."""
    inner = "".join(paragraphs)
    return (
        '<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor>'
        '<wp:docPr id="1" name="Text Box 1"/><a:graphic><a:graphicData uri="http://schemas.'
        'microsoft.com/office/word/2010/wordprocessingShape"><wps:wsp><wps:txbx><w:txbxContent>'
        f"{inner}</w:txbxContent></wps:txbx><wps:bodyPr/></wps:wsp></a:graphicData></a:graphic>"
        "</wp:anchor></w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>"
        f"<w:txbxContent>{inner}</w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback>"
        "</mc:AlternateContent></w:r>"
    )


def _sym(font: str, char: str) -> str:
    return f'<w:r><w:sym w:font="{font}" w:char="{char}"/></w:r>'


def _dropdown_field(entries: list[str], result: int | None, shown: str = "") -> str:
    """A legacy FORMDROPDOWN form field: Word keeps the list and the chosen index only
    (`shown`: a cached display text some writers add, which may be stale)."""
    chosen = f'<w:result w:val="{result}"/>' if result is not None else ""
    listed = "".join(f'<w:listEntry w:val="{entry}"/>' for entry in entries)
    cached = ('<w:r><w:fldChar w:fldCharType="separate"/></w:r>' + _r(shown)) if shown else ""
    return (
        '<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Dropdown1"/><w:enabled/>'
        f"<w:ddList>{chosen}{listed}</w:ddList></w:ffData></w:fldChar></w:r>"
        '<w:r><w:instrText xml:space="preserve"> FORMDROPDOWN </w:instrText></w:r>'
        f'{cached}<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )


ORG_TYPES = ["občina", "javni zavod občine"]
ROLES = ["strokovni sodelavec / strokovna sodelavka za stike z javnostmi v občini",
         "direktor / direktorica občinske uprave", "župan / županja"]


# --- 1. Insert > Symbol ------------------------------------------------------------------

def test_a_tick_from_the_symbol_font_marks_the_option() -> None:
    """Insert > Symbol, font Symbol: √ (0xD6) or × (0xB4) in front of the chosen option."""
    data = _docx(_table(
        _row("Vrsta organizacije", [_p(_sym("Symbol", "F0D6"), " občina"),
                                    _p("javni zavod občine")]),
        _row("Vloga pri stikih z javnostmi", [_p(ROLES[0]), _p(_sym("Symbol", "F0B4"), " ",
                                                               ROLES[1]), _p(ROLES[2])]),
    ))
    assert parse_docx(data) == {"organization_type": "obcina", "role": "director",
                                "consent": False}


# --- 3. Text boxes -------------------------------------------------------------------------

def test_a_text_box_in_a_value_cell_is_read_once() -> None:
    data = _docx(_table(
        _row("Ime in priimek", [_p(_text_box(_p("Ana Novak")))]),
        _row("Naslov organizacije", [_p(_text_box(_p("Slovenski trg 1"), _p("4000 Kranj")))]),
        _row("Vrsta organizacije", [_p(_text_box(_p("občina")))]),
    ))
    assert parse_docx(data) == {"full_name": "Ana Novak", "organization_type": "obcina",
                                "address": "Slovenski trg 1, 4000 Kranj", "consent": False}


def test_a_form_of_floating_text_boxes_beside_printed_labels() -> None:
    data = _docx(
        _p("Ime in priimek:", _text_box(_p("Ana Novak"))),
        _p("Naslov organizacije:", _text_box(_p("Slovenski trg 1"), _p("4000 Kranj"))),
        _p("Vrsta organizacije:", _text_box(_p("☐ javni zavod občine"), _p("☒ občina"))),
        _p("E-naslov:", _text_box(_p("ana.novak@kranj.si"))),
        # labels and answers each in a box of their own, anchored in an empty paragraph
        _p(_text_box(_p("Vloga pri stikih z javnostmi:")), _text_box(_p(ROLES[1]))),
    )
    assert parse_docx(data) == {
        "full_name": "Ana Novak", "email": "ana.novak@kranj.si", "organization_type": "obcina",
        "address": "Slovenski trg 1, 4000 Kranj", "role": "director", "consent": False}


# --- 4. Dropdowns --------------------------------------------------------------------------

def test_legacy_dropdown_form_fields_read_the_chosen_entry() -> None:
    data = _docx(_table(
        _row("Vrsta organizacije", [_p(_dropdown_field(ORG_TYPES, 1))]),
        _row("Vloga pri stikih z javnostmi", [_p(_dropdown_field(["(izberite)", *ROLES], 2))]),
        # no w:result: the default entry, the first, shows
        _row("Izkušnje na področju komuniciranja",
             [_p(_dropdown_field(["izkušen / izkušena", "začetnik / začetnica"], None))]),
    ))
    assert parse_docx(data) == {"organization_type": "javni_zavod", "role": "director",
                                "experience": "experienced", "consent": False}


def test_a_dropdown_field_index_wins_over_its_cached_text_and_never_hides_the_rest() -> None:
    stale = _dropdown_field(ORG_TYPES, 1, shown="občina")
    unclosed = ('<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:ddList>'
                '<w:listEntry w:val="župan / županja"/></w:ddList></w:ffData></w:fldChar></w:r>')
    data = _docx(_p("Vrsta organizacije: ", stale), _p("Vloga: ", unclosed, "xx"),
                 _p("Ime in priimek: Ana Novak"), _p("Delovno mesto: ", _dropdown_field(
                     ["svetovalka"], 7)))
    assert parse_docx(data) == {"full_name": "Ana Novak", "organization_type": "javni_zavod",
                                "role": "mayor", "consent": False}


# --- 5. Tabs, breaks, paragraphs -----------------------------------------------------------

def test_two_labels_on_one_line_separated_by_tabs() -> None:
    tabs = "<w:r><w:tab/><w:tab/><w:tab/></w:r>"
    data = _docx(_p("Ime in priimek:", tabs, "Ana Novak", tabs, "Delovno mesto:", tabs,
                    "svetovalka"),
                 _p("Vrsta organizacije: občina", tabs, "Vloga: direktorica"))
    assert parse_docx(data) == {"full_name": "Ana Novak", "job_title": "svetovalka",
                                "organization_type": "obcina", "role": "director",
                                "consent": False}


def test_a_value_cell_of_several_paragraphs() -> None:
    data = _docx(_table(
        _row("Ime in priimek", [_p("Ana"), _p("Novak")]),
        _row("Delovno mesto / funkcija", [_p("svetovalka"), _p("za odnose z javnostmi")]),
        _row("Naziv organizacije", [_p("Javni zavod za turizem"), _p("in kulturo Kranj")]),
        _row("Naslov organizacije", [_p("Glavni trg 2"), _p(""), _p("4000 Kranj")]),
        _row("E-naslov", [_p(""), _p("ana.novak@kranj.si")]),
    ))
    assert parse_docx(data) == {
        "full_name": "Ana Novak", "job_title": "svetovalka za odnose z javnostmi",
        "email": "ana.novak@kranj.si", "organization": "Javni zavod za turizem in kulturo Kranj",
        "address": "Glavni trg 2, 4000 Kranj", "consent": False}


# --- 6. Google Docs-like layout -----------------------------------------------------------

def test_a_row_of_labels_over_a_row_of_answers() -> None:
    data = _docx(_table(
        _row("Ime in priimek", "E-naslov", "Naziv organizacije"),
        _row("Ana Novak", "ana.novak@kranj.si", "Občina Bled"),
        _row("Vrsta organizacije", "Vloga pri stikih z javnostmi", "Kraj in datum"),
        _row("občina", "direktorica", "Bled, 3. 2. 2021"),
    ))
    assert parse_docx(data) == {
        "full_name": "Ana Novak", "email": "ana.novak@kranj.si", "organization_type": "obcina",
        "organization": "Občina Bled", "role": "director", "consent": False,
        "place_date": "Bled, 3. 2. 2021"}


# --- 7. Marks typed beside the boxes -------------------------------------------------------

@pytest.mark.parametrize("typed", [
    "{off} direktor / direktorica občinske uprave X",  # after the option
    "{off} X direktor / direktorica občinske uprave",  # between the box and the option
    "{off}x direktor / direktorica občinske uprave",  # glued to the box
])
def test_an_x_typed_beside_an_unchecked_checkbox_control(typed: str) -> None:
    rows = [
        ("Vrsta organizacije", ["{off} občina X", "{off} javni zavod občine"]),
        ("Vloga pri stikih z javnostmi", ["{off} " + ROLES[0], typed, "{off} župan / županja"]),
        ("Področja, na katerih želim nadgraditi znanje",
         ["{off} odnosi z mediji x", "{off} družbena omrežja", "{off} krizno komuniciranje X"]),
        ("Soglasje", ["{off} " + CONSENT_TEXT + " X"]),
    ]
    assert parse_docx(make_docx(rows)) == {
        "organization_type": "obcina", "role": "director",
        "interests": ["media_relations", "crisis"], "consent": True}


@pytest.mark.parametrize(("value", "given"), [
    ([f"☐ {CONSENT_TEXT} DA"], True),
    ([f"☐ {CONSENT_TEXT}", "DA"], True),
    (["DA", f"☐ {CONSENT_TEXT}"], True),
    ([f"{{off}} {CONSENT_TEXT}   da."], True),
    ([f"☐ {CONSENT_TEXT} NE"], False),
    ([f"{CONSENT_TEXT} NE"], False),  # the sentence kept, but refused
    ([f"{CONSENT_TEXT} DA"], True),
    (["☐ Soglašam, da"], False),  # the sentence's own "da" is no answer
    (["☐ da ☐ ne"], False),  # both answers offered, neither marked
    (["☐ ne ☐ da"], False),
])
def test_consent_answered_by_typing_da_next_to_it(value: list[str], given: bool) -> None:
    data = make_docx([("Ime in priimek", ["Ana Novak"]), ("Vrsta organizacije", ["občina"]),
                      ("Soglasje", value)])
    fields = parse_docx(data)
    assert fields is not None and fields["consent"] is given


def test_typed_answers_work_the_same_in_plain_text() -> None:
    # The shared grammar: the same habits in a mail body or a PDF's text layer.
    reading = read_lines("\n".join([
        "Vloga pri stikih z javnostmi:", f"☐ {ROLES[0]}", f"☐ {ROLES[1]} X",
        "Soglasje:", f"☐ {CONSENT_TEXT}", "DA"]))
    assert (reading.fields.get("role"), reading.fields["consent"]) == ("director", True)


# --- hostile documents -----------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "DA" + " " * 40_000 + "z",  # a typed answer followed by a run of spaces
    "☐ a da" + " " * 40_000 + "z",
    "☐" + " X" * 20_000,
])
def test_a_long_consent_cell_is_read_in_linear_time(value: str) -> None:
    start = time.perf_counter()
    parse_docx(make_docx([("Soglasje", [value]), ("Vloga pri stikih z javnostmi", [value])]))
    assert time.perf_counter() - start < 1.0


def test_fields_never_closed_and_text_boxes_nested_deep_stay_bounded() -> None:
    opened = '<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:ddList/></w:ffData></w:fldChar>' \
        "</w:r>"
    nested = _p("Ime in priimek: Ana Novak")
    for _ in range(30):  # the nesting lxml accepts without XML_PARSE_HUGE
        nested = _p("<w:r><w:pict><v:shape><v:textbox><w:txbxContent>" + nested +
                    "</w:txbxContent></v:textbox></v:shape></w:pict></w:r>")
    start = time.perf_counter()
    fields = parse_docx(_docx(_p(opened * 50_000, "Vloga: direktorica"), nested,
                              _p("Vrsta organizacije: občina")))
    assert time.perf_counter() - start < 2.0
    assert fields == {"full_name": "Ana Novak", "organization_type": "obcina", "consent": False}
