"""Small declaration documents built in code: DOCX (python-docx + raw XML), PDF (reportlab).

DOCX text uses a tiny markup so a test reads like the document it builds:
`{on}`/`{off}` a w14:checkbox content control, `{ffon}`/`{ffoff}` a legacy check box form
field, `{fftext:Ana}` a legacy text form field, `{sdt:Ana}` a plain-text content control,
`{placeholder:Click here}` one showing its placeholder, `{ins:Ana}`/`{del:Ana}` tracked
changes, `{symon}`/`{symoff}` Wingdings boxes, `{tab}`, `{br}`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import docx
from docx.oxml import parse_xml
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from parsers.model import TITLE

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14_NS = "http://schemas.microsoft.com/office/word/2010/wordml"
_NS = f'xmlns:w="{W_NS}" xmlns:w14="{W14_NS}"'
_TOKEN = re.compile(r"\{(\w+)(?::([^}]*))?\}")


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{_esc(text)}</w:t></w:r>' if text else ""


def _checkbox(checked: bool) -> str:
    glyph = "☒" if checked else "☐"
    return (
        f"<w:sdt><w:sdtPr><w14:checkbox><w14:checked w14:val=\"{int(checked)}\"/>"
        "<w14:checkedState w14:val=\"2612\" w14:font=\"MS Gothic\"/>"
        "<w14:uncheckedState w14:val=\"2610\" w14:font=\"MS Gothic\"/></w14:checkbox>"
        f"</w:sdtPr><w:sdtContent>{_run(glyph)}</w:sdtContent></w:sdt>"
    )


def _ff_checkbox(checked: bool) -> str:
    return (
        "<w:r><w:fldChar w:fldCharType=\"begin\"><w:ffData><w:name w:val=\"Check1\"/>"
        "<w:enabled/><w:calcOnExit w:val=\"0\"/><w:checkBox><w:sizeAuto/>"
        f"<w:default w:val=\"0\"/>{'<w:checked/>' if checked else ''}</w:checkBox>"
        "</w:ffData></w:fldChar></w:r>"
        "<w:r><w:instrText xml:space=\"preserve\"> FORMCHECKBOX </w:instrText></w:r>"
        "<w:r><w:fldChar w:fldCharType=\"end\"/></w:r>"
    )


def _ff_text(text: str) -> str:
    return (
        "<w:r><w:fldChar w:fldCharType=\"begin\"><w:ffData><w:name w:val=\"Text1\"/>"
        "<w:enabled/><w:textInput/></w:ffData></w:fldChar></w:r>"
        "<w:r><w:instrText xml:space=\"preserve\"> FORMTEXT </w:instrText></w:r>"
        "<w:r><w:fldChar w:fldCharType=\"separate\"/></w:r>"
        f"{_run(text)}<w:r><w:fldChar w:fldCharType=\"end\"/></w:r>"
    )


_MAKERS: dict[str, Callable[[str], str]] = {
    "on": lambda a: _checkbox(True),
    "off": lambda a: _checkbox(False),
    "ffon": lambda a: _ff_checkbox(True),
    "ffoff": lambda a: _ff_checkbox(False),
    "fftext": lambda a: _ff_text(a),
    "sdt": lambda a: f"<w:sdt><w:sdtPr/><w:sdtContent>{_run(a)}</w:sdtContent></w:sdt>",
    "placeholder": lambda a: (
        "<w:sdt><w:sdtPr><w:showingPlcHdr/></w:sdtPr>"
        f"<w:sdtContent>{_run(a)}</w:sdtContent></w:sdt>"),
    "ins": lambda a: f'<w:ins w:id="1" w:author="a">{_run(a)}</w:ins>',
    "del": lambda a: (f'<w:del w:id="2" w:author="a"><w:r><w:delText>{_esc(a)}'
                    "</w:delText></w:r></w:del>"),
    "symon": lambda a: '<w:r><w:sym w:font="Wingdings" w:char="F0FE"/></w:r>',
    "symoff": lambda a: '<w:r><w:sym w:font="Wingdings" w:char="F0A8"/></w:r>',
    # The same boxes typed as characters in a run set in Wingdings ("þ" draws ☒, "¨" ☐).
    "wingon": lambda a: ('<w:r><w:rPr><w:rFonts w:ascii="Wingdings" w:hAnsi="Wingdings"/>'
                         "</w:rPr><w:t>\u00fe</w:t></w:r>"),
    "wingoff": lambda a: ('<w:r><w:rPr><w:rFonts w:ascii="Wingdings" w:hAnsi="Wingdings"/>'
                          "</w:rPr><w:t>\u00a8</w:t></w:r>"),
    "tab": lambda a: "<w:r><w:tab/></w:r>",
    "br": lambda a: "<w:r><w:br/></w:r>",
}


def _markup(text: str) -> str:
    xml: list[str] = []
    position = 0
    for found in _TOKEN.finditer(text):
        xml.append(_run(text[position:found.start()]))
        name, arg = found.group(1), found.group(2) or ""
        xml.append(_MAKERS[name](arg))
        position = found.end()
    xml.append(_run(text[position:]))
    return "".join(xml)


def _fill(paragraph: object, text: str) -> None:
    element = paragraph._p  # type: ignore[attr-defined]
    fragment = parse_xml(f"<w:p {_NS}>{_markup(text)}</w:p>")
    for child in list(fragment):
        element.append(child)


def make_docx(
    rows: Sequence[tuple[str, Sequence[str]]] = (),
    before: Iterable[str] = (TITLE,),
    after: Iterable[str] = (),
) -> bytes:
    """A document: paragraphs `before`, a two-column table of rows, paragraphs `after`.

    A row is (label cell, value cell paragraphs); every text may use the markup above.
    """
    document = docx.Document()
    root = document.element
    root.set("{http://schemas.openxmlformats.org/markup-compatibility/2006}Ignorable", "w14")
    for text in before:
        _fill(document.add_paragraph(), text)
    if rows:
        table = document.add_table(rows=0, cols=2)
        for label, values in rows:
            row = table.add_row()
            label_cell, value_cell = row.cells
            _fill(label_cell.paragraphs[0], label)
            for index, value in enumerate(values):
                paragraph = value_cell.paragraphs[0] if index == 0 else value_cell.add_paragraph()
                _fill(paragraph, value)
    for text in after:
        _fill(document.add_paragraph(), text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def official_rows(
    text: Mapping[str, str], marks: Mapping[str, Sequence[str]], mark: str = "{on}",
    unmark: str = "{off}",
) -> list[tuple[str, list[str]]]:
    """The official form's table; `marks` maps a field to the option values to tick."""
    from parsers.model import FIELDS

    rows: list[tuple[str, list[str]]] = []
    for spec in FIELDS:
        if spec.name in ("interests_other", "place_date"):
            continue
        if spec.choices:
            lines = []
            for choice in spec.choices:
                box = mark if choice.value in marks.get(spec.name, ()) else unmark
                line = f"{box}\u00a0{choice.label}"
                if choice.value == "other":
                    line += ": " + text.get("interests_other", "")
                lines.append(line)
            rows.append((spec.label, lines))
        elif spec.kind == "checkbox":
            box = mark if marks.get("consent") else unmark
            rows.append((spec.label, [f"{box}\u00a0Soglašam, da Skupnost občin Slovenije moje "
                                      "osebne podatke obdeluje za namen delovanja mreže "
                                      "komunikatorjev."]))
        else:
            rows.append((spec.label, [text.get(spec.name, "")]))
    return rows


# ---------------------------------------------------------------------------------------------
# PDF

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _font() -> str:
    if not _DEJAVU.is_file():
        return "Helvetica"
    if "TestSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("TestSans", str(_DEJAVU)))
    return "TestSans"


def text_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF whose text layer holds these lines, page by page (DejaVu: č, ☐, ☒ print)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    font = _font()
    for lines in pages:
        canvas.setFont(font, 9)
        y = A4[1] - 50
        for line in lines:
            canvas.drawString(40, y, line)
            y -= 14
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def image_pdf() -> bytes:
    """A "scan": a page with drawing and no text."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    canvas.rect(50, 50, 400, 600, fill=1)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def acroform_pdf(
    text: Mapping[str, str],
    checked: Iterable[str] = (),
    radios: Mapping[str, str] | None = None,
    printed: Sequence[str] = (TITLE,),
) -> bytes:
    """A fillable PDF with the official AcroForm names, filled with these values.

    `text`: AcroForm text field name -> value; `checked`: checkbox names ticked (every
    interest box and soglasje exist); `radios`: radio group -> the selected export value.
    """
    from parsers.model import FIELDS, INTERESTS

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    font = _font()
    canvas.setFont(font, 10)
    y = A4[1] - 40
    for line in printed:
        canvas.drawString(40, y, line)
        y -= 14
    form = canvas.acroForm
    checked = set(checked)
    radios = radios or {}
    y -= 10
    for spec in FIELDS:
        if spec.kind in ("text", "email"):
            form.textfield(name=spec.acroform, value="", x=200, y=y,
                           width=300, height=14, fontName="Helvetica", fontSize=9)
            y -= 18
        elif spec.kind == "choice":
            for choice in spec.choices:
                form.radio(name=spec.acroform, value=choice.value,
                           selected=radios.get(spec.acroform) == choice.value, x=200, y=y,
                           size=10)
                y -= 14
        elif spec.kind == "set":
            for choice in INTERESTS:
                form.checkbox(name=str(choice.acroform), checked=choice.acroform in checked,
                              x=200, y=y, size=10)
                y -= 14
        else:
            form.checkbox(name=spec.acroform, checked=spec.acroform in checked, x=200, y=y,
                          size=10)
            y -= 14
    canvas.showPage()
    canvas.save()
    filled = {name: value for name, value in text.items() if value}
    if not filled:
        return buffer.getvalue()
    # reportlab writes only Latin-1 field values; pypdf fills like a viewer does (UTF-16).
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(buffer.getvalue())))
    writer.update_page_form_field_values(writer.pages[0], filled, auto_regenerate=False)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypt_pdf(data: bytes, password: str = "skrivnost") -> bytes:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=password, owner_password=password + "x", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# One applicant, as every test expects her

ANA_TEXT = {
    "full_name": "Ana Novak",
    "job_title": "svetovalka za odnose z javnostmi",
    "email": "ana.novak@kranj.si",
    "phone": "04 237 31 00",
    "organization": "Mestna občina Kranj",
    "municipality": "",
    "address": "Slovenski trg 1, 4000 Kranj",
    "interests_other": "",
}
ANA_MARKS: dict[str, list[str]] = {
    "organization_type": ["obcina"],
    "role": ["pr_staff"],
    "experience": ["beginner"],
    "interests": ["media_relations", "crisis"],
    "consent": ["yes"],
}
ANA = {
    "full_name": "Ana Novak",
    "job_title": "svetovalka za odnose z javnostmi",
    "email": "ana.novak@kranj.si",
    "phone": "04 237 31 00",
    "organization_type": "obcina",
    "organization": "Mestna občina Kranj",
    "address": "Slovenski trg 1, 4000 Kranj",
    "role": "pr_staff",
    "experience": "beginner",
    "interests": ["media_relations", "crisis"],
    "consent": True,
}
ANA_LINES = [
    TITLE,
    "Ime in priimek: Ana Novak",
    "Delovno mesto / funkcija: svetovalka za odnose z javnostmi",
    "E-naslov: ana.novak@kranj.si",
    "Telefon: 04 237 31 00",
    "Vrsta organizacije: [x] občina [ ] javni zavod občine",
    "Naziv organizacije: Mestna občina Kranj",
    "Občina (ustanoviteljica javnega zavoda):",
    "Naslov organizacije: Slovenski trg 1, 4000 Kranj",
    "Vloga pri stikih z javnostmi:",
    "[x] strokovni sodelavec / strokovna sodelavka za stike z javnostmi v občini",
    "[ ] direktor / direktorica občinske uprave",
    "Izkušnje na področju komuniciranja: [x] začetnik / začetnica [ ] izkušen / izkušena",
    "Področja, na katerih želim nadgraditi znanje:",
    "[x] odnosi z mediji",
    "[ ] družbena omrežja",
    "[x] krizno komuniciranje",
    "[ ] drugo:",
    "Soglasje: [x] Soglašam, da Skupnost občin Slovenije moje osebne podatke obdeluje.",
]

# Ana's declaration as the official fillable PDF's fields hold it.
ANA_ACRO_TEXT = {"ime_priimek": "Ana Novak", "delovno_mesto": "svetovalka za odnose z javnostmi",
                 "e_naslov": "ana.novak@kranj.si", "telefon": "04 237 31 00",
                 "naziv_organizacije": "Mestna občina Kranj",
                 "naslov": "Slovenski trg 1, 4000 Kranj"}
ANA_RADIOS = {"vrsta_organizacije": "obcina", "vloga": "pr_staff", "izkusnje": "beginner"}
ANA_CHECKED = ("interes_mediji", "interes_krizno", "soglasje")
