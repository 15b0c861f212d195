"""ODT habits: Word forms saved as .odt by LibreOffice, and LibreOffice's own ways of filling
in the form. One test per habit, exact fields expected.

Each document is built here as the content.xml LibreOffice 7.4 writes for the habit (learnt
from `soffice --convert-to odt` of the DOCX habits in test_habits.py and
test_word_habits.py), so the tests need no LibreOffice.
"""

from __future__ import annotations

import io
import time
import zipfile
from xml.sax.saxutils import escape

from parsers.document import parse_document
from parsers.model import TITLE
from parsers.odt import parse_odt
from tests.parsers.builders import ANA, ANA_LINES, ANA_MARKS, ANA_TEXT, official_rows
from tests.parsers.test_several import EXPECTED, bojan_lines, people

_NS = " ".join(f'xmlns:{prefix}="urn:oasis:names:tc:opendocument:xmlns:{uri}"' for prefix, uri in {
    "office": "office:1.0", "text": "text:1.0", "table": "table:1.0", "style": "style:1.0",
    "fo": "xsl-fo-compatible:1.0", "svg": "svg-compatible:1.0", "form": "form:1.0",
    "draw": "drawing:1.0",
}.items()) + ' xmlns:field="urn:openoffice:names:experimental:ooo-ms-interop:xmlns:field:1.0"'

# The font faces and automatic styles LibreOffice writes for a Word run in a symbol font.
_FONTS = (
    '<office:font-face-decls><style:font-face style:name="Calibri" svg:font-family="Calibri"/>'
    '<style:font-face style:name="Symbol" svg:font-family="Symbol" '
    'style:font-charset="x-symbol"/><style:font-face style:name="Wingdings" '
    'svg:font-family="Wingdings" style:font-family-generic="roman"/></office:font-face-decls>'
)
_STYLES = (
    '<style:style style:name="P1" style:family="paragraph" style:parent-style-name="Standard">'
    '<style:paragraph-properties fo:orphans="0" fo:widows="0"/></style:style>'
    '<style:style style:name="T1" style:family="text">'
    '<style:text-properties style:font-name="Wingdings"/></style:style>'
    '<style:style style:name="T2" style:family="text">'
    '<style:text-properties style:font-name="Symbol"/></style:style>'
)


def _odt(*blocks: str, forms: str = "") -> bytes:
    """An ODT whose office:text is the title paragraph and then `blocks`."""
    body = "".join(blocks)
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_NS}>{_FONTS}'
        f"<office:automatic-styles>{_STYLES}</office:automatic-styles><office:body>"
        f"<office:text><office:forms>{forms}</office:forms>"
        f'<text:p text:style-name="Standard">{TITLE}</text:p>{body}'
        "</office:text></office:body></office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", content)
    return buffer.getvalue()


def _p(*parts: str) -> str:
    return f'<text:p text:style-name="P1">{"".join(parts)}</text:p>'


def _cell(*paragraphs: str) -> str:
    return ('<table:table-cell office:value-type="string">'
            + "".join(p if p.startswith("<text:p") else _p(p) for p in paragraphs)
            + "</table:table-cell>")


def _row(*cells: str) -> str:
    return f"<table:table-row>{''.join(cells)}</table:table-row>"


def _table(*rows: str) -> str:
    return f'<table:table table:name="Table1">{"".join(rows)}</table:table>'


def _fieldmark(kind: str, params: list[tuple[str, str]]) -> str:
    inner = "".join(f'<field:param field:name="{name}" field:value="{value}"/>'
                    for name, value in params)
    return (f'<field:fieldmark text:name="__Fieldmark__1_1" '
            f'field:type="vnd.oasis.opendocument.field.{kind}">{inner}</field:fieldmark>')


def _official(on: str, off: str) -> bytes:
    """The official form filled in as ANA, each box written as `on` or `off`."""
    rows = [_row(_cell(label), _cell(*[
        value.replace("\x01", on).replace("\x02", off) for value in values]))
        for label, values in official_rows(ANA_TEXT, ANA_MARKS, "\x01", "\x02")]
    return _odt(_table(*rows) + _p("Kraj in datum: Kranj, 3. 2. 2021"))


ANA_DATED = {**ANA, "place_date": "Kranj, 3. 2. 2021"}


# --- Word forms converted to .odt by LibreOffice ---------------------------------------------

def test_word_legacy_checkboxes_become_fieldmarks() -> None:
    """A FORMCHECKBOX field is kept as a collapsed field:fieldmark; ticked ones carry
    Checkbox_Checked=true, unticked ones no parameter at all."""
    ticked = _fieldmark("FORMCHECKBOX", [("Checkbox_Checked", "true")])
    assert parse_odt(_official(ticked, _fieldmark("FORMCHECKBOX", []))) == ANA_DATED
    unticked = _fieldmark("FORMCHECKBOX", [("Checkbox_Checked", "false")])
    assert parse_odt(_official(ticked, unticked)) == ANA_DATED


def test_wingdings_boxes_typed_in_a_run_stay_in_a_wingdings_span() -> None:
    """"þ" and "¨" typed in Wingdings draw ☒ and ☐; LibreOffice keeps the letters in a span
    whose automatic style names the Wingdings font face."""
    on = '<text:span text:style-name="T1">\u00fe</text:span>'
    off = '<text:span text:style-name="T1">\u00a8</text:span>'
    assert parse_odt(_official(on, off)) == ANA_DATED


def test_symbol_font_ticks_in_private_use_code_points() -> None:
    """Word's w:sym (Insert > Symbol) arrives as the private-use code point in the font's
    span: U+F0D6 in Symbol is √, U+F0FE in Wingdings ☒."""
    data = _odt(_table(
        _row(_cell("Vrsta organizacije"),
             _cell('<text:span text:style-name="T2">\uf0d6</text:span> občina',
                   "javni zavod občine")),
        _row(_cell("Vloga pri stikih z javnostmi"),
             _cell("direktor / direktorica občinske uprave",
                   '<text:span text:style-name="T1">\uf0fe</text:span> župan / županja')),
    ))
    assert parse_odt(data) == {"organization_type": "obcina", "role": "mayor",
                               "consent": False}


def test_word_dropdown_fields_read_their_selected_entry() -> None:
    """A FORMDROPDOWN keeps its entries and the chosen index, no displayed text."""
    def dropdown(entries: list[str], selected: str | None) -> str:
        params = [("Dropdown_ListEntry", entry) for entry in entries]
        if selected is not None:
            params.append(("Dropdown_Selected", selected))
        return _fieldmark("FORMDROPDOWN", params)

    data = _odt(_table(
        _row(_cell("Vrsta organizacije"),
             _cell(_p(dropdown(["občina", "javni zavod občine"], "1")))),
        _row(_cell("Vloga pri stikih z javnostmi"),
             _cell(_p(dropdown(["(izberite)", "direktor / direktorica občinske uprave"],
                               "1")))),
        _row(_cell("Izkušnje na področju komuniciranja"),
             _cell(_p(dropdown(["izkušen / izkušena", "začetnik / začetnica"], None)))),
    ))
    assert parse_odt(data) == {"organization_type": "javni_zavod", "role": "director",
                               "experience": "experienced", "consent": False}


def _shape(*paragraphs: str) -> str:
    """A Word text box as LibreOffice converts it: a draw:custom-shape holding paragraphs."""
    return ('<draw:custom-shape text:anchor-type="char" draw:name="Text Box 1">'
            + "".join(_p(p) for p in paragraphs)
            + '<draw:enhanced-geometry draw:type="ooxml-non-primitive"/></draw:custom-shape>')


def _frame(*paragraphs: str) -> str:
    """A LibreOffice text frame (Insert > Frame): draw:frame around a draw:text-box."""
    return ('<draw:frame draw:name="Frame1" text:anchor-type="paragraph"><draw:text-box>'
            + "".join(_p(p) for p in paragraphs) + "</draw:text-box></draw:frame>")


def test_text_boxes_in_value_cells_keep_their_lines_apart() -> None:
    data = _odt(_table(
        _row(_cell("Ime in priimek"), _cell(_p(_shape("Ana Novak")))),
        _row(_cell("Naslov organizacije"),
             _cell(_p(_shape("Slovenski trg 1", "4000 Kranj")))),
        _row(_cell("Vrsta organizacije"), _cell(_p(_shape("občina")))),
    ))
    assert parse_odt(data) == {"full_name": "Ana Novak", "organization_type": "obcina",
                               "address": "Slovenski trg 1, 4000 Kranj", "consent": False}


def test_text_frames_beside_printed_labels_are_their_values() -> None:
    data = _odt(
        _p("Ime in priimek:", _frame("Ana Novak")),
        _p("Naslov organizacije:", _frame("Slovenski trg 1", "4000 Kranj")),
        _p("Vrsta organizacije:", _shape("☐ javni zavod občine", "☒ občina")),
        _p(_frame("Vloga pri stikih z javnostmi:"),
           _frame("direktor / direktorica občinske uprave")),
    )
    assert parse_odt(data) == {
        "full_name": "Ana Novak", "organization_type": "obcina",
        "address": "Slovenski trg 1, 4000 Kranj", "role": "director", "consent": False}


def test_a_row_of_labels_over_a_row_of_answers() -> None:
    data = _odt(_table(
        _row(_cell("Ime in priimek"), _cell("E-naslov"), _cell("Naziv organizacije")),
        _row(_cell("Ana Novak"), _cell("ana.novak@kranj.si"), _cell("Občina Bled")),
        _row(_cell("Vrsta organizacije"), _cell("Vloga pri stikih z javnostmi"),
             _cell("Kraj in datum")),
        _row(_cell("občina"), _cell("direktorica"), _cell("Bled, 3. 2. 2021")),
    ))
    assert parse_odt(data) == {
        "full_name": "Ana Novak", "email": "ana.novak@kranj.si", "organization": "Občina Bled",
        "organization_type": "obcina", "role": "director", "place_date": "Bled, 3. 2. 2021",
        "consent": False}


# --- LibreOffice's own habits ----------------------------------------------------------------

def test_option_buttons_read_as_marks() -> None:
    """Form > Option Button: form:radio with form:current-selected, shown by a draw:control."""
    forms = ('<form:form form:name="Form">'
             '<form:radio form:name="vrsta" xml:id="control1" form:id="control1"/>'
             '<form:radio form:name="vrsta" xml:id="control2" form:id="control2" '
             'form:current-selected="true"/></form:form>')
    data = _odt(_table(_row(_cell("Vrsta organizacije"), _cell(
        '<draw:control text:anchor-type="as-char" draw:control="control1"/> občina',
        '<draw:control text:anchor-type="as-char" draw:control="control2"/> '
        "javni zavod občine"))), forms=forms)
    assert parse_odt(data) == {"organization_type": "javni_zavod", "consent": False}


def test_a_drop_down_field_without_shown_text_reads_its_selected_label() -> None:
    drop = ('<text:drop-down text:name="vloga"><text:label text:value="župan / županja"/>'
            '<text:label text:value="direktor / direktorica občinske uprave" '
            'text:current-selected="true"/></text:drop-down>')
    data = _odt(_p("Vloga pri stikih z javnostmi: ", drop))
    assert parse_odt(data) == {"role": "director", "consent": False}


def test_fields_spaces_breaks_sections_and_tracked_changes() -> None:
    """Native habits read as before: user fields and a shown drop-down field, text:s,
    soft page breaks between rows, a section, and a tracked deletion that is not read."""
    tracked = (
        '<text:tracked-changes><text:changed-region text:id="ct1"><text:deletion>'
        "<office:change-info/>"
        + _p("Ime in priimek: Janez Kranjc")
        + "</text:deletion></text:changed-region></text:tracked-changes>"
    )
    body = tracked + _table(
        _row(_cell("Ime in priimek"), _cell(
            '<text:p><text:change text:change-id="ct1"/>Ana<text:s/>Novak</text:p>')),
        "<text:soft-page-break/>",
        _row(_cell("Delovno mesto / funkcija"), _cell(
            '<text:p><text:user-field-get text:name="funkcija">svetovalka</text:user-field-get>'
            "</text:p>")),
        _row(_cell("Vrsta organizacije"), _cell(
            '<text:p><text:drop-down text:name="vrsta"><text:label text:value="občina" '
            'text:current-selected="true"/><text:label text:value="javni zavod občine"/>'
            "občina</text:drop-down></text:p>")),
    ) + ('<text:section text:name="Section1">'
         + _p("E-naslov:<text:tab/>ana.novak@kranj.si<text:line-break/>")
         + "</text:section>")
    assert parse_odt(_odt(body)) == {
        "full_name": "Ana Novak", "job_title": "svetovalka", "email": "ana.novak@kranj.si",
        "organization_type": "obcina", "consent": False}


# --- hostile input stays bounded -------------------------------------------------------------

def test_a_fieldmark_never_closed_hides_only_its_own_paragraph() -> None:
    unclosed = ('<field:fieldmark-start text:name="x" '
                'field:type="vnd.oasis.opendocument.field.FORMDROPDOWN"/>')
    data = _odt(_p("Vloga pri stikih z javnostmi: ", unclosed * 500, "xx"),
                _p("Ime in priimek: Ana Novak"))
    assert parse_odt(data) == {"full_name": "Ana Novak", "consent": False}


def test_frames_nested_deep_and_many_styles_stay_bounded() -> None:
    deep = "Ime in priimek: Ana Novak"
    for _ in range(60):
        deep = _p(_frame(deep))
    started = time.perf_counter()
    assert parse_odt(_odt(deep)) == {"full_name": "Ana Novak", "consent": False}
    assert time.perf_counter() - started < 2.0


def test_two_colleagues_in_one_odt_are_two_declarations() -> None:
    paragraphs = [_p(escape(line)) for line in [*ANA_LINES[1:], *bojan_lines()]]
    found = parse_document(_odt(*paragraphs), "izjave.odt")
    assert people([d.fields for d in found]) == EXPECTED
