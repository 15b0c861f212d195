"""The official blank declaration: a Word form and a fillable PDF.

Both are generated from parsers/model.py, so every label, option, AcroForm name and the
consent text are spelled exactly as the parsers expect them. The reply to an incomplete
declaration attaches these bytes, and `intake forms -o DIR` writes them to disk.

The DOCX marks options with Word checkbox content controls (w14:checkbox), which current
Word and LibreOffice both toggle with a click; the PDF has AcroForm text fields, radio
groups for the single choices and checkboxes for the interests and the consent.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import _Cell
from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from parsers.model import (
    CONSENT_TEXT,
    FIELDS,
    FIELDS_BY_NAME,
    TITLE,
    FieldSpec,
)

DOCX_NAME = "izjava-o-pristopu.docx"
PDF_NAME = "izjava-o-pristopu.pdf"

ISSUER = "Skupnost občin Slovenije"
ISSUER_ADDRESS = "Partizanska cesta 47, 2000 Maribor · www.skupnostobcin.si"
SIGNATURE_LABEL = "Podpis"

# Fields that sit in the table; interests_other lives on the "drugo" option line and
# place_date under the table beside the signature.
_TABLE_FIELDS = tuple(f for f in FIELDS if f.name not in ("interests_other", "place_date"))
_OTHER_TEXT = FIELDS_BY_NAME["interests_other"]
_PLACE_DATE = FIELDS_BY_NAME["place_date"]
_CONSENT = FIELDS_BY_NAME["consent"]

UNCHECKED = "☐"  # U+2610, what Word shows for an unticked checkbox content control
CHECKED = "☒"  # U+2612
_BOX_FONT = "MS Gothic"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"


def write_forms(directory: Path) -> tuple[Path, Path]:
    """Write the blank DOCX and PDF into `directory` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    docx_path = directory / DOCX_NAME
    pdf_path = directory / PDF_NAME
    docx_path.write_bytes(blank_docx())
    pdf_path.write_bytes(blank_pdf())
    return docx_path, pdf_path


def option_tag(spec: FieldSpec, value: str) -> str:
    """The w:tag of an option's checkbox: the AcroForm name, as in the PDF."""
    if spec.kind == "set":
        for choice in spec.choices:
            if choice.value == value and choice.acroform:
                return choice.acroform
    if spec.kind == "checkbox":
        return spec.acroform
    return f"{spec.acroform}:{value}"


# --- DOCX -------------------------------------------------------------------------------


def blank_docx() -> bytes:
    """The official Word form, unfilled."""
    document = Document()
    _declare_w14(document.element)
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin, section.bottom_margin = Cm(1.6), Cm(1.6)
    document.core_properties.title = TITLE.capitalize()
    document.core_properties.author = ISSUER

    normal = document.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(10)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "Arial")
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.1

    issuer = document.add_paragraph()
    run = issuer.add_run(ISSUER)
    run.bold = True
    run.font.size = Pt(12)
    address = document.add_paragraph()
    run = address.add_run(ISSUER_ADDRESS)
    run.font.size = Pt(8.5)
    run.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
    _bottom_border(address)
    address.paragraph_format.space_after = Pt(14)

    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(12)
    run = title.add_run(TITLE)
    run.bold = True
    run.font.size = Pt(12)

    table = document.add_table(rows=0, cols=2)
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    widths = (Cm(5.6), Cm(11.4))
    sdt_ids = iter(range(1000, 2000))
    for spec in _TABLE_FIELDS:
        row = table.add_row()
        label_cell, value_cell = row.cells
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width
            _cell_margins(cell)
        label_cell.paragraphs[0].add_run(spec.label).bold = True
        if spec.kind in ("choice", "set"):
            first = True
            for choice in spec.choices:
                paragraph = value_cell.paragraphs[0] if first else value_cell.add_paragraph()
                first = False
                paragraph.paragraph_format.space_after = Pt(2)
                _hanging(paragraph)
                _append_checkbox(paragraph, option_tag(spec, choice.value), next(sdt_ids))
                label = choice.label + (":" if choice.value == "other" else "")
                paragraph.add_run("\u00a0" + label)
        elif spec.kind == "checkbox":
            paragraph = value_cell.paragraphs[0]
            _hanging(paragraph)
            _append_checkbox(paragraph, option_tag(spec, ""), next(sdt_ids))
            paragraph.add_run("\u00a0" + CONSENT_TEXT)
        # Text fields: the value cell stays empty, the applicant types into it.
        if spec.kind in ("text", "email"):
            row.height = Cm(0.85)
    _fix_grid(table, widths)

    for label in (_PLACE_DATE.label, SIGNATURE_LABEL):
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_before = Pt(22)
        paragraph.paragraph_format.tab_stops.add_tab_stop(Cm(10.0), leader=WD_TAB_LEADER.DOTS)
        paragraph.add_run(label + ": ").bold = True
        paragraph.add_run("\t")

    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _declare_w14(root: Any) -> None:
    """Make sure w14 is declared and listed in mc:Ignorable, or Word refuses the file."""
    if root.nsmap.get("w14") != W14 or root.nsmap.get("mc") != MC:
        # python-docx's template declares both; lxml cannot add a namespace to a live root.
        raise RuntimeError("the python-docx template lacks the w14/mc namespaces")
    ignorable = root.get(f"{{{MC}}}Ignorable", "")
    if "w14" not in ignorable.split():
        root.set(f"{{{MC}}}Ignorable", (ignorable + " w14").strip())


def _append_checkbox(paragraph: object, tag: str, sdt_id: int) -> None:
    """An unticked Word checkbox content control (w14:checkbox) at the end of `paragraph`."""
    sdt = OxmlElement("w:sdt")
    pr = OxmlElement("w:sdtPr")
    pr.append(_box_rpr())
    tag_el = OxmlElement("w:tag")
    tag_el.set(qn("w:val"), tag)
    pr.append(tag_el)
    id_el = OxmlElement("w:id")
    id_el.set(qn("w:val"), str(sdt_id))
    pr.append(id_el)
    checkbox = OxmlElement("w14:checkbox")
    checked = OxmlElement("w14:checked")
    checked.set(qn("w14:val"), "0")
    checkbox.append(checked)
    for state, glyph in (("w14:checkedState", "2612"), ("w14:uncheckedState", "2610")):
        element = OxmlElement(state)
        element.set(qn("w14:val"), glyph)
        element.set(qn("w14:font"), _BOX_FONT)
        checkbox.append(element)
    pr.append(checkbox)
    sdt.append(pr)
    content = OxmlElement("w:sdtContent")
    run = OxmlElement("w:r")
    run.append(_box_rpr())
    text = OxmlElement("w:t")
    text.text = UNCHECKED
    run.append(text)
    content.append(run)
    sdt.append(content)
    paragraph._p.append(sdt)  # type: ignore[attr-defined]


def _box_rpr() -> object:
    rpr = OxmlElement("w:rPr")
    fonts = OxmlElement("w:rFonts")
    for attribute in ("w:ascii", "w:eastAsia", "w:hAnsi"):
        fonts.set(qn(attribute), _BOX_FONT)
    fonts.set(qn("w:hint"), "eastAsia")
    rpr.append(fonts)
    return rpr


def _hanging(paragraph: object) -> None:
    """Wrapped option lines align under the text, not under the box."""
    fmt = paragraph.paragraph_format  # type: ignore[attr-defined]
    fmt.left_indent = Cm(0.5)
    fmt.first_line_indent = Cm(-0.5)


def _cell_margins(cell: _Cell) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    margins = OxmlElement("w:tcMar")
    for side, twips in (("top", 60), ("bottom", 60), ("left", 100), ("right", 100)):
        element = OxmlElement(f"w:{side}")
        element.set(qn("w:w"), str(twips))
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    tc_pr.append(margins)


def _fix_grid(table: object, widths: Iterable[Cm]) -> None:
    """LibreOffice sizes columns from w:tblGrid, Word from the cells: set both."""
    grid = table._tbl.tblGrid  # type: ignore[attr-defined]
    for column, width in zip(grid.findall(qn("w:gridCol")), widths, strict=True):
        column.set(qn("w:w"), str(int(width.twips)))


def _bottom_border(paragraph: object) -> None:
    p_pr = paragraph._p.get_or_add_pPr()  # type: ignore[attr-defined]
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "4"),
                       ("w:color", "888888")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    p_pr.append(borders)


# --- PDF --------------------------------------------------------------------------------

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
_FONT_CANDIDATES = (
    (_DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf"),
    (Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
     Path("/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf")),
    (Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
     Path("/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf")),
)


def _fonts() -> tuple[str, str]:
    """A regular and a bold font that can print č, š, ž.

    reportlab ships no such font; without DejaVu or Liberation on the system the form falls
    back to Helvetica, which prints the labels but drops the háčeks' letters.
    """
    for regular, bold in _FONT_CANDIDATES:
        if regular.is_file() and bold.is_file():
            if "FormSans" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("FormSans", str(regular)))
                pdfmetrics.registerFont(TTFont("FormSans-Bold", str(bold)))
            return "FormSans", "FormSans-Bold"
    return "Helvetica", "Helvetica-Bold"


_GREY = Color(0.35, 0.35, 0.35)
_FIELD_FILL = Color(0.93, 0.95, 1.0)
_FIELD_BORDER = Color(0.55, 0.6, 0.7)


def blank_pdf() -> bytes:
    """The official fillable PDF form, unfilled."""
    regular, bold = _fonts()
    buffer = io.BytesIO()
    # invariant: no timestamp or random ID, so the same code gives the same bytes.
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    canvas.setTitle(TITLE.capitalize())
    canvas.setAuthor(ISSUER)
    width, height = A4
    left, right = 48.0, width - 48.0
    label_width = 150.0
    value_x = left + label_width + 8
    value_width = right - value_x
    form = canvas.acroForm

    y = height - 50
    canvas.setFont(bold, 12)
    canvas.drawString(left, y, ISSUER)
    y -= 13
    canvas.setFont(regular, 8)
    canvas.setFillColor(_GREY)
    canvas.drawString(left, y, ISSUER_ADDRESS)
    canvas.setFillColor(black)
    y -= 7
    canvas.setStrokeColor(_GREY)
    canvas.setLineWidth(0.6)
    canvas.line(left, y, right, y)
    y -= 26
    for line in simpleSplit(TITLE, bold, 12, right - left - 40):
        canvas.setFont(bold, 12)
        canvas.drawCentredString(width / 2, y, line)
        y -= 15
    y -= 10

    label_size, option_size, leading = 9.0, 8.6, 10.6
    box = 9.5

    def draw_label(spec_label: str, top: float) -> float:
        canvas.setFont(bold, label_size)
        lines = simpleSplit(spec_label, bold, label_size, label_width)
        for index, line in enumerate(lines):
            canvas.drawString(left, top - 9 - index * leading, line)
        return top - 9 - (len(lines) - 1) * leading - 6

    def separator(at: float) -> None:
        canvas.setStrokeColor(Color(0.82, 0.82, 0.82))
        canvas.setLineWidth(0.4)
        canvas.line(left, at, right, at)

    def field_flags(spec: FieldSpec) -> str:
        return "required" if spec.required else ""

    for spec in _TABLE_FIELDS:
        top = y
        label_bottom = draw_label(spec.label, top)
        if spec.kind in ("text", "email"):
            field_height = 16.0
            form.textfield(
                name=spec.acroform, tooltip=spec.label, x=value_x, y=top - field_height - 2,
                width=value_width, height=field_height, fontName="Helvetica", fontSize=9,
                borderWidth=0.6, borderColor=_FIELD_BORDER, fillColor=_FIELD_FILL,
                textColor=black, fieldFlags=field_flags(spec), maxlen=0,
            )
            bottom = min(top - field_height - 2, label_bottom)
        else:
            line_y = top - 9
            options = spec.choices if spec.kind != "checkbox" else ()
            for choice in options:
                box_y = line_y - 2
                if spec.kind == "choice":
                    form.radio(
                        name=spec.acroform, value=choice.value, selected=False,
                        tooltip=spec.label, x=value_x, y=box_y, size=box,
                        # reportlab draws shape="circle" at half size, off-centre.
                        buttonStyle="circle", shape="square", borderWidth=0.8,
                        borderColor=_FIELD_BORDER, fillColor=white, textColor=black,
                        fieldFlags="noToggleToOff radio" + (
                            " required" if spec.required else ""),
                    )
                else:
                    form.checkbox(
                        name=choice.acroform, tooltip=choice.label, x=value_x, y=box_y,
                        size=box, buttonStyle="check", borderWidth=0.8,
                        borderColor=_FIELD_BORDER, fillColor=white, textColor=black,
                        fieldFlags="",
                    )
                text = choice.label + (":" if choice.value == "other" else "")
                lines = simpleSplit(text, regular, option_size, value_width - box - 6)
                canvas.setFont(regular, option_size)
                for index, line in enumerate(lines):
                    canvas.drawString(value_x + box + 5, line_y - index * leading, line)
                if choice.value == "other":
                    text_x = value_x + box + 5 + pdfmetrics.stringWidth(
                        text, regular, option_size) + 6
                    form.textfield(
                        name=_OTHER_TEXT.acroform, tooltip="drugo (vpišite)", x=text_x,
                        y=line_y - 4, width=right - text_x, height=14, fontName="Helvetica",
                        fontSize=9, borderWidth=0.6, borderColor=_FIELD_BORDER,
                        fillColor=_FIELD_FILL, textColor=black, fieldFlags="", maxlen=0,
                    )
                    line_y -= 3
                line_y -= len(lines) * leading + 3
            if spec.kind == "checkbox":
                form.checkbox(
                    name=spec.acroform, tooltip=spec.label, x=value_x, y=line_y - 2,
                    size=box, buttonStyle="check", borderWidth=0.8,
                    borderColor=_FIELD_BORDER, fillColor=white, textColor=black,
                    fieldFlags="required",
                )
                lines = simpleSplit(CONSENT_TEXT, regular, option_size, value_width - box - 6)
                canvas.setFont(regular, option_size)
                for index, line in enumerate(lines):
                    canvas.drawString(value_x + box + 5, line_y - index * leading, line)
                line_y -= len(lines) * leading + 3
            bottom = min(line_y + leading - 1, label_bottom)
        y = bottom - 5
        separator(y)
        y -= 5

    y -= 26
    canvas.setFont(bold, label_size)
    canvas.drawString(left, y, _PLACE_DATE.label + ":")
    place_x = left + pdfmetrics.stringWidth(_PLACE_DATE.label + ":", bold, label_size) + 6
    form.textfield(
        name=_PLACE_DATE.acroform, tooltip=_PLACE_DATE.label, x=place_x, y=y - 4,
        width=200, height=16, fontName="Helvetica", fontSize=9, borderWidth=0.6,
        borderColor=_FIELD_BORDER, fillColor=_FIELD_FILL, textColor=black, fieldFlags="",
        maxlen=0,
    )
    signature_x = right - 190
    canvas.drawString(signature_x, y, SIGNATURE_LABEL + ":")
    canvas.setStrokeColor(black)
    canvas.setLineWidth(0.5)
    canvas.line(signature_x + 40, y - 3, right, y - 3)

    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
