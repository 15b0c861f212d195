"""Applicants' habits beyond the pristine form: one test per habit, exact fields expected."""

from __future__ import annotations

import time

import pytest

from parsers.body import parse_body
from parsers.document import parse_document
from parsers.docx import parse_docx
from parsers.model import TITLE
from parsers.text import read_lines
from tests.parsers.builders import ANA, make_docx, text_pdf

ANA_CORE = {
    "full_name": "Ana Novak", "job_title": "svetovalka", "email": "ana.novak@kranj.si",
    "organization_type": "obcina", "organization": "Mestna občina Kranj", "role": "pr_staff",
    "consent": True,
}
CORE_NEXT_LINE = [
    TITLE,
    "Ime in priimek:", "Ana Novak",
    "Delovno mesto / funkcija:", "svetovalka",
    "E-naslov:", "ana.novak@kranj.si",
    "Vrsta organizacije:", "☒ občina", "☐ javni zavod občine",
    "Naziv organizacije:", "Mestna občina Kranj",
    "Vloga pri stikih z javnostmi:",
    "☒ strokovni sodelavec / strokovna sodelavka za stike z javnostmi v občini",
    "☐ direktor / direktorica občinske uprave",
    "Soglasje:", "☒ Soglašam, da Skupnost občin Slovenije moje osebne podatke obdeluje.",
]


# --- label on one line, value on the next ------------------------------------------------

def test_value_on_the_next_paragraph_in_docx() -> None:
    assert parse_docx(make_docx(before=CORE_NEXT_LINE)) == ANA_CORE


def test_value_on_the_next_line_in_pdf_text() -> None:
    [found] = parse_document(text_pdf([CORE_NEXT_LINE]), "izjava.pdf")
    assert (found.fields, found.problems) == (ANA_CORE, ())


def test_value_on_the_next_line_in_a_body() -> None:
    found = parse_body("Pozdravljeni,\n\n" + "\n".join(CORE_NEXT_LINE[1:]) + "\n\nLp, Ana\n")
    assert found is not None and found.fields == ANA_CORE


# --- DOCX tables -------------------------------------------------------------------------

def _table_xml(rows: list[str], nested: str = "") -> str:
    return f"<w:tbl>{''.join(rows)}</w:tbl>"


def _docx_with_body(body_xml: str) -> bytes:
    """A DOCX whose body is exactly this WordprocessingML (no python-docx table model)."""
    import io
    import zipfile

    ns = ('xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
          'xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml"')
    document = f'<?xml version="1.0" encoding="UTF-8"?><w:document {ns}><w:body>{body_xml}' \
               "</w:body></w:document>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", document)
    return buffer.getvalue()


def _p(text: str, strike: bool = False) -> str:
    props = "<w:rPr><w:strike/></w:rPr>" if strike else ""
    return f'<w:p><w:r>{props}<w:t xml:space="preserve">{text}</w:t></w:r></w:p>'


def _tc(*paragraphs: str, extra: str = "") -> str:
    return f"<w:tc><w:tcPr>{extra}</w:tcPr>{''.join(paragraphs) or '<w:p/>'}</w:tc>"


def _tr(*cells: str) -> str:
    return f"<w:tr>{''.join(cells)}</w:tr>"


def test_table_with_header_row_notes_column_and_asterisks() -> None:
    rows = [
        _tr(_tc(_p("Podatek")), _tc(_p("Vnos")), _tc(_p("Opomba"))),
        _tr(_tc(_p("Ime in priimek*:")), _tc(_p("Ana Novak")), _tc(_p("obvezno"))),
        _tr(_tc(_p("Delovno mesto / funkcija *")), _tc(_p("svetovalka")),
            _tc(_p("kot v pogodbi"))),
        _tr(_tc(_p("E-naslov*:")), _tc(_p("ana.novak@kranj.si")), _tc(_p("službeni"))),
        _tr(_tc(_p("Telefon:")), _tc(), _tc(_p("neobvezno"))),
        _tr(_tc(_p("Vrsta organizacije*:")), _tc(_p("občina")), _tc()),
        _tr(_tc(_p("Naziv organizacije*:")), _tc(_p("Mestna občina Kranj")), _tc()),
        _tr(_tc(_p("Vloga pri stikih z javnostmi*:")),
            _tc(_p("strokovna sodelavka za stike z javnostmi")), _tc()),
        _tr(_tc(_p("Soglasje*:")), _tc(_p("☒ Soglašam")), _tc()),
    ]
    data = _docx_with_body(_p(TITLE) + _table_xml(rows))
    assert parse_docx(data) == ANA_CORE


def test_without_a_header_a_remark_column_is_left_out() -> None:
    rows = [
        _tr(_tc(_p("Ime in priimek:")), _tc(_p("Ana Novak")), _tc(_p("(obvezno)"))),
        _tr(_tc(_p("Telefon:")), _tc(), _tc(_p("(neobvezno)"))),
        _tr(_tc(_p("Vrsta organizacije:")), _tc(_p("☐ občina")), _tc(_p("☒ javni zavod"))),
        _tr(_tc(_p("Občina:")), _tc(_p("Kranj")), _tc(_p("*"))),
    ]
    data = _docx_with_body(_p(TITLE) + _table_xml(rows))
    assert parse_docx(data) == {"full_name": "Ana Novak", "organization_type": "javni_zavod",
                                "municipality": "Kranj", "consent": False}


def test_vertically_merged_label_over_option_rows_and_spanned_cells() -> None:
    restart = '<w:vMerge w:val="restart"/>'
    rows = [
        _tr(_tc(_p("Ime in priimek:")), _tc(_p("Ana Novak"), extra='<w:gridSpan w:val="2"/>')),
        _tr(_tc(_p("Vrsta organizacije:"), extra=restart), _tc(_p("☐")), _tc(_p("občina"))),
        _tr(_tc(extra="<w:vMerge/>"), _tc(_p("☒")), _tc(_p("javni zavod občine"))),
        _tr(_tc(_p("Vloga pri stikih z javnostmi:"), extra=restart), _tc(_p("☐")),
            _tc(_p("direktor / direktorica občinske uprave"))),
        _tr(_tc(extra="<w:vMerge/>"), _tc(_p("☒")),
            _tc(_p("zaposleni / zaposlena v javnem zavodu občine"))),
        _tr(_tc(_p("Občina (ustanoviteljica javnega zavoda):")),
            _tc(_p("Kranj"), extra='<w:gridSpan w:val="2"/>')),
    ]
    data = _docx_with_body(_p(TITLE) + _table_xml(rows))
    assert parse_docx(data) == {"full_name": "Ana Novak", "organization_type": "javni_zavod",
                                "municipality": "Kranj", "role": "institution_pr",
                                "consent": False}


def test_form_table_nested_in_a_layout_table_and_options_in_a_nested_table() -> None:
    options = _table_xml([_tr(_tc(_p("☒")), _tc(_p("občina"))),
                          _tr(_tc(_p("☐")), _tc(_p("javni zavod občine")))])
    inner = _table_xml([
        _tr(_tc(_p("Ime in priimek:")), _tc(_p("Ana Novak"))),
        _tr(_tc(_p("Vrsta organizacije:")), _tc(options + "<w:p/>")),
        _tr(_tc(_p("Naziv organizacije:")), _tc(_p("Mestna občina Kranj"))),
        _tr(_tc(_p("Vloga pri stikih z javnostmi:")), _tc(_p("☒ strokovna sodelavka"))),
    ])
    outer = _table_xml([_tr(_tc(_p(TITLE), inner + "<w:p/>"))])
    assert parse_docx(_docx_with_body(outer)) == {
        "full_name": "Ana Novak", "organization_type": "obcina",
        "organization": "Mestna občina Kranj", "role": "pr_staff", "consent": False}


def test_values_with_tabs_soft_breaks_and_no_break_spaces() -> None:
    rows = [("Ime in priimek:", ["Ana\u00a0Novak"]),
            ("Naslov organizacije:", ["Slovenski trg 1{br}4000 Kranj"]),
            ("Telefon:", ["{tab}04\u00a0237 31 00{tab}"]),
            ("Vrsta organizacije:", ["☒\u00a0občina{br}☐\u00a0javni zavod občine"])]
    assert parse_docx(make_docx(rows)) == {
        "full_name": "Ana Novak", "phone": "04 237 31 00", "organization_type": "obcina",
        "address": "Slovenski trg 1, 4000 Kranj", "consent": False}


def test_struck_through_options_are_not_chosen() -> None:
    rows = [
        _tr(_tc(_p("Vrsta organizacije:")),
            _tc(_p("občina", strike=True), _p("javni zavod občine"))),
        _tr(_tc(_p("Vloga pri stikih z javnostmi:")),
            _tc(_p("strokovni sodelavec / strokovna sodelavka", strike=True),
                _p("direktor / direktorica občinske uprave", strike=True),
                _p("zaposleni / zaposlena v javnem zavodu občine"))),
        _tr(_tc(_p("Izkušnje na področju komuniciranja:")),
            _tc(_p("začetnik / začetnica"), _p("izkušen / izkušena", strike=True))),
    ]
    assert parse_docx(_docx_with_body(_p(TITLE) + _table_xml(rows))) == {
        "organization_type": "javni_zavod", "role": "institution_pr", "experience": "beginner",
        "consent": False}


# --- options on one line, marks after, X --------------------------------------------------

@pytest.mark.parametrize(("line", "expected"), [
    ("Vrsta organizacije: ☐ občina ☒ javni zavod občine", "javni_zavod"),
    ("Vrsta organizacije: ☒ občina ☐ javni zavod občine", "obcina"),
    ("Vrsta organizacije: [ ] občina [x] javni zavod občine", "javni_zavod"),
    ("Vrsta organizacije (občina / javni zavod občine): javni zavod", "javni_zavod"),
    ("Vrsta organizacije: občina / javni zavod občine: občina", "obcina"),
    ("Vrsta organizacije: občina [x] javni zavod občine [ ]", "obcina"),
    ("Vrsta organizacije: občina ☐ javni zavod občine ☒", "javni_zavod"),
    ("Vrsta organizacije: X občina", "obcina"),
    ("Vrsta organizacije: x javni zavod občine", "javni_zavod"),
    ("Vrsta organizacije: javni zavod občine X", "javni_zavod"),
])
def test_organization_type_on_one_line(line: str, expected: str) -> None:
    assert read_lines(line).fields.get("organization_type") == expected


@pytest.mark.parametrize(("lines", "expected"), [
    (["direktor / direktorica občinske uprave ✓", "župan / županja"], "director"),
    (["direktor / direktorica občinske uprave", "župan / županja [x]"], "mayor"),
    (["x župan / županja", "direktor / direktorica občinske uprave"], "mayor"),
    # an x inside a word is no mark: both options stand, so nothing is chosen
    (["xenon strokovni sodelavec", "direktor / direktorica občinske uprave"], None),
])
def test_role_marks_after_the_option_and_lone_x(lines: list[str], expected: str | None) -> None:
    reading = read_lines("\n".join(["Vloga pri stikih z javnostmi:", *lines]))
    assert reading.fields.get("role") == expected


# --- e-mail bodies -----------------------------------------------------------------------

OUTLOOK_HTML = """<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>
<style><!-- p.MsoNormal {margin:0cm;} --></style><!--[if gte mso 9]><xml><o:shapedefaults/>
</xml><![endif]--></head><body lang=SL><div class=WordSection1>
<p class=MsoNormal>Pozdravljeni,<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>
<table class=MsoTableGrid border=1 cellspacing=0 cellpadding=0>
<tr><td width=200><p class=MsoNormal><b>Ime in priimek:</b><o:p></o:p></p></td>
<td><p class=MsoNormal>Ana&nbsp;Novak<o:p></o:p></p></td></tr>
<tr><td><p class=MsoNormal>Delovno mesto / funkcija<o:p></o:p></p></td>
<td><p class=MsoNormal>svetovalka<o:p></o:p></p></td></tr>
<tr><td><p class=MsoNormal>E-naslov<o:p></o:p></p></td>
<td><p class=MsoNormal><a href="mailto:ana.novak@kranj.si">ana.novak@kranj.si</a></p></td></tr>
<tr><td><p class=MsoNormal>Vrsta organizacije<o:p></o:p></p></td>
<td><p class=MsoNormal>&#9746; občina<o:p></o:p></p>
<p class=MsoNormal>&#9744; javni zavod občine<o:p></o:p></p></td></tr>
<tr><td><p class=MsoNormal>Naziv organizacije<o:p></o:p></p></td>
<td><div><span style='font-size:11pt'>Mestna občina Kranj</span></div></td></tr>
<tr><td><p class=MsoNormal>Vloga pri stikih z javnostmi<o:p></o:p></p></td>
<td><p class=MsoNormal>strokovna sodelavka za stike z javnostmi<o:p></o:p></p></td></tr>
<tr><td><p class=MsoNormal>Soglasje<o:p></o:p></p></td>
<td><p class=MsoNormal>&#9746; Soglašam<o:p></o:p></p></td></tr>
</table><p class=MsoNormal><o:p>&nbsp;</o:p></p>
<p class=MsoNormal>Lep pozdrav,<o:p></o:p></p><p class=MsoNormal>Ana Novak<o:p></o:p></p>
<div style='border:none;border-top:solid #E1E1E1 1.0pt'><p class=MsoNormal><b>From:</b>
Metka Lasič &lt;metka.lasic@skupnostobcin.si&gt;<br><b>Sent:</b> Monday, February 1, 2021
<br><b>Subject:</b> Izjava</p></div>
<p class=MsoNormal>Ime in priimek: ____<o:p></o:p></p></div></body></html>"""


def test_outlook_html_body() -> None:
    found = parse_body("", OUTLOOK_HTML)
    assert found is not None and found.fields == ANA_CORE


REPLY = """Pozdravljeni,

tu so manjkajoči podatki:

Ime in priimek: Ana Novak
Delovno mesto: svetovalka
E-naslov: ana.novak@kranj.si
Vrsta organizacije: občina
Naziv organizacije: Mestna občina Kranj
Vloga: strokovna sodelavka za stike z javnostmi
Soglasje: da

--
Ana Novak
Tel.: 04 237 31 00
Mestna občina Kranj, Slovenski trg 1

On Mon, 1 Feb 2021 at 10:12, Metka Lasič <metka.lasic@skupnostobcin.si>
wrote:
> Pozdravljeni,
> Ime in priimek: Janez Kranjc
> E-naslov: janez@primer.si
"""


def test_reply_with_signature_and_quoted_original_reads_only_the_new_text() -> None:
    found = parse_body(REPLY)
    assert found is not None and found.fields == ANA_CORE


GMAIL_QUOTE = """Evo, popravljeno.

On Mon, Feb 1, 2021 at 10:12 AM Metka Lasič <metka.lasic@skupnostobcin.si> wrote:

> IZJAVA O PRISTOPU K MREŽI KOMUNIKATORJEV V OBČINAH IN OBČINSKIH JAVNIH ZAVODIH
> Ime in priimek: Ana Novak
> Delovno mesto / funkcija: svetovalka
>> E-naslov: ana.novak@kranj.si
> Vrsta organizacije: ☒ občina ☐ javni zavod občine
> Naziv organizacije: Mestna občina Kranj
> Vloga pri stikih z javnostmi: strokovna sodelavka
> ☒ Soglašam, da Skupnost občin Slovenije moje osebne podatke obdeluje.
"""


def test_declaration_only_in_the_quoted_part_is_still_read() -> None:
    found = parse_body(GMAIL_QUOTE)
    assert found is not None and found.fields == ANA_CORE


FORWARDED = """Metka, posredujem izjavo sodelavke.

---------- Forwarded message ---------
From: Ana Novak <ana.novak@kranj.si>
Date: Mon, Feb 1, 2021 at 9:00 AM
Subject: Izjava o pristopu
To: Janez <janez@kranj.si>

Ime in priimek: Ana Novak
Delovno mesto / funkcija: svetovalka
E-naslov: ana.novak@kranj.si
Vrsta organizacije: občina
Naziv organizacije: Mestna občina Kranj
Vloga pri stikih z javnostmi: strokovna sodelavka za stike z javnostmi
Soglasje: [x] soglašam
"""


def test_forwarded_declaration_in_the_body() -> None:
    found = parse_body(FORWARDED)
    assert found is not None and found.fields == ANA_CORE


def test_lowercase_labels_without_diacritics_and_without_the_title() -> None:
    body = ("zdravo,\n\nime in priimek: ana novak\ndelovno mesto: svetovalka\n"
            "e-posta: ana.novak@kranj.si\nvrsta organizacije: javni zavod\n"
            "naziv organizacije: zavod za turizem kranj\nobcina: Kranj\n"
            "vloga: zaposlena v javnem zavodu\nsoglasam z obdelavo podatkov\n\nlp\n")
    found = parse_body(body)
    assert found is not None
    assert found.fields == {
        "full_name": "ana novak", "job_title": "svetovalka", "email": "ana.novak@kranj.si",
        "organization_type": "javni_zavod", "organization": "zavod za turizem kranj",
        "municipality": "Kranj", "role": "institution_pr", "consent": True}


# --- PDF layout ---------------------------------------------------------------------------

def test_pdf_value_far_right_and_two_columns() -> None:
    lines = [TITLE,
             "Ime in priimek:" + " " * 40 + "Ana Novak",
             "Delovno mesto / funkcija:" + " " * 30 + "svetovalka",
             "E-naslov: ana.novak@kranj.si" + " " * 20 + "Telefon: 04 237 31 00",
             "Vrsta organizacije: ☒ občina ☐ javni zavod občine",
             "Naziv organizacije: Mestna občina Kranj" + " " * 10 + "Občina: Kranj",
             "Vloga pri stikih z javnostmi: ☒ strokovna sodelavka",
             "☒ Soglašam, da Skupnost občin Slovenije moje osebne podatke obdeluje."]
    [found] = parse_document(text_pdf([lines]), "izjava.pdf")
    assert found.fields == {**ANA_CORE, "phone": "04 237 31 00", "municipality": "Kranj"}


# --- formats and hostile text ---------------------------------------------------------------

def test_rtf_is_unreadable_with_a_clear_detail() -> None:
    [found] = parse_document(rb"{\rtf1\ansi Ime in priimek: Ana Novak\par}", "izjava.rtf")
    assert found.problems == ("unreadable_attachment",)
    assert found.detail == "dokument RTF, ki ga ne beremo; prosimo za DOCX ali PDF"


HOSTILE = [
    "\n" * 1_000_000, " \n" * 500_000, "> " * 500_000, "javn" * 250_000, "a@" * 500_000,
    "ime in priimek: " * 60_000, "[x]" * 300_000, "občina [" * 120_000, "x " * 500_000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_a_megabyte_of_hostile_text_is_read_in_under_a_second(text: str) -> None:
    start = time.perf_counter()
    parse_body(text, "<p>" + text + "</p>")
    assert time.perf_counter() - start < 2.0  # both alternatives: < 1 s each


def test_ana_is_still_ana() -> None:  # the shared fixture stays valid for these habits
    assert ANA["full_name"] == "Ana Novak"


# --- OpenDocument text ---------------------------------------------------------------------

_ODT_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
           'xmlns:form="urn:oasis:names:tc:opendocument:xmlns:form:1.0" '
           'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"')


def _odt(body: str, forms: str = "") -> bytes:
    import io
    import zipfile

    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODT_NS}>'
        '<office:automatic-styles><style:style style:name="T1" style:family="text">'
        '<style:text-properties style:text-line-through-style="solid"/></style:style>'
        "</office:automatic-styles>"
        f"<office:body><office:text><office:forms>{forms}</office:forms>{body}"
        "</office:text></office:body></office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", content)
    return buffer.getvalue()


def _cell(*paragraphs: str, rows: int = 1) -> str:
    span = f' table:number-rows-spanned="{rows}"' if rows > 1 else ""
    return (f"<table:table-cell{span}>"
            + "".join(f"<text:p>{p}</text:p>" for p in paragraphs) + "</table:table-cell>")


def _row(*cells: str) -> str:
    return f"<table:table-row>{''.join(cells)}</table:table-row>"


def test_odt_table_with_struck_option_merged_label_and_checkbox_control() -> None:
    forms = ('<form:form><form:checkbox xml:id="c1" form:current-state="checked"/>'
             '<form:checkbox xml:id="c2"/></form:form>')
    rows = [
        _row(_cell("Ime in priimek:"), _cell("Ana<text:s/>Novak")),
        _row(_cell("Delovno mesto / funkcija:"), _cell("svetovalka")),
        _row(_cell("E-naslov*:"), _cell('<text:a xlink:href="x">ana.novak@kranj.si</text:a>'
                                        .replace(' xlink:href="x"', ""))),
        _row(_cell("Vrsta organizacije:"),
             _cell('<text:span text:style-name="T1">občina</text:span>',
                   "javni zavod občine")),
        _row(_cell("Naziv organizacije:"), _cell("Zavod za turizem Kranj")),
        _row(_cell("Občina (ustanoviteljica javnega zavoda):"), _cell("Kranj")),
        _row(_cell("Vloga pri stikih z javnostmi:", rows=2),
             _cell('<draw:control draw:control="c2"/> direktor / direktorica občinske uprave')),
        _row("<table:covered-table-cell/>",
             _cell('<draw:control draw:control="c1"/> zaposlena v javnem zavodu občine')),
        _row(_cell("Soglasje:"), _cell("☒ Soglašam, da Skupnost občin Slovenije ...")),
    ]
    body = (f"<text:h>{TITLE}</text:h><table:table>{''.join(rows)}</table:table>"
            "<text:p>Kraj in datum:<text:tab/>Kranj, 3. 2. 2021</text:p>")
    [found] = parse_document(_odt(body, forms), "izjava.odt")
    assert (found.fields, found.problems, found.extra) == ({
        "full_name": "Ana Novak", "job_title": "svetovalka", "email": "ana.novak@kranj.si",
        "organization_type": "javni_zavod", "organization": "Zavod za turizem Kranj",
        "municipality": "Kranj", "role": "institution_pr", "consent": True,
        "place_date": "Kranj, 3. 2. 2021"}, (), {"kind": "odt"})


def test_odt_paragraphs_and_lists_and_a_broken_odt() -> None:
    body = (f"<text:p>{TITLE}</text:p><text:list><text:list-item>"
            "<text:p>Ime in priimek: Ana Novak</text:p></text:list-item><text:list-item>"
            "<text:p>Vrsta organizacije: <text:span>[x]</text:span> občina</text:p>"
            "</text:list-item></text:list>")
    [found] = parse_document(_odt(body), "izjava.odt")
    assert found.fields == {"full_name": "Ana Novak", "organization_type": "obcina",
                            "consent": False}
    [broken] = parse_document(_odt(body)[:-40], "izjava.odt")
    assert broken.problems == ("unreadable_attachment",)
