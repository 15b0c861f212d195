"""PDF habits of other people's tools: forms filled or stripped by other software, someone
else's fillable form, turned pages, Wingdings marks, XFA."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pypdf
from pypdf.generic import ArrayObject, NameObject, TextStringObject
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from parsers.model import TITLE
from parsers.pdf import PDF_ACROFORM, PDF_TEXT, XFA_ONLY, parse_pdf
from tests.parsers.builders import (
    ANA,
    ANA_ACRO_TEXT,
    ANA_CHECKED,
    ANA_LINES,
    ANA_RADIOS,
    _font,
    acroform_pdf,
    text_pdf,
)

# ---------------------------------------------------------------------------------------------
# Builders: the official form rewritten as other tools leave it


def _rewrite(data: bytes, change: Callable[[pypdf.PdfWriter], None]) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _fields(writer: pypdf.PdfWriter) -> list[Any]:
    form: Any = writer._root_object["/AcroForm"]
    return [ref.get_object() for ref in form["/Fields"]]


def _ana_form() -> bytes:
    return acroform_pdf(ANA_ACRO_TEXT, ANA_CHECKED, ANA_RADIOS)


def _numbered_radios(with_opt: bool) -> bytes:
    """Radio kids renamed /0 /1 /2 (Acrobat, LibreOffice), /V the chosen number."""

    def change(writer: pypdf.PdfWriter) -> None:
        for field in _fields(writer):
            if "/Kids" not in field or field.get("/FT") != "/Btn":
                continue
            exports: list[str] = []
            kids: Any = field["/Kids"]
            for index, ref in enumerate(kids):
                kid = ref.get_object()
                states = kid["/AP"]["/N"]
                [name] = [state for state in states if state != "/Off"]
                exports.append(name[1:])
                states[NameObject(f"/{index}")] = states.pop(name)
                if kid.get("/AS") == name:
                    kid[NameObject("/AS")] = NameObject(f"/{index}")
                if field.get("/V") == name:
                    field[NameObject("/V")] = NameObject(f"/{index}")
            if with_opt:
                field[NameObject("/Opt")] = ArrayObject(TextStringObject(e) for e in exports)

    return _rewrite(_ana_form(), change)


def _flattened_by_a_viewer() -> bytes:
    """Every /V removed: the values survive only in the widgets' appearances and /AS."""

    def change(writer: pypdf.PdfWriter) -> None:
        for field in _fields(writer):
            field.pop("/V", None)

    return _rewrite(_ana_form(), change)


def _without_acroform() -> bytes:
    def change(writer: pypdf.PdfWriter) -> None:
        del writer._root_object["/AcroForm"]

    return _rewrite(_ana_form(), change)


def _their_form(text_name: str, box_name: str) -> bytes:
    """Someone else's fillable form: our labels printed, fields named Text1 or Check Box 5."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    canvas.setFont(_font(), 10)
    y = 800.0
    canvas.drawString(40, y, TITLE)
    y -= 30
    form = canvas.acroForm
    values: dict[str, str] = {}
    ticked: list[str] = []
    count = 0

    def text(label: str, value: str) -> None:
        nonlocal y, count
        count += 1
        canvas.drawString(40, y, label)
        form.textfield(name=f"{text_name}{count}", value="", x=220, y=y - 4, width=300,
                       height=16, fontSize=9, borderWidth=0)
        values[f"{text_name}{count}"] = value
        y -= 24

    def boxes(label: str, options: list[tuple[str, bool]]) -> None:
        nonlocal y, count
        canvas.drawString(40, y, label)
        for option, chosen in options:
            count += 1
            form.checkbox(name=f"{box_name}{count}", checked=False, x=220, y=y - 1, size=10)
            if chosen:
                ticked.append(f"{box_name}{count}")
            canvas.drawString(236, y, option)
            y -= 16
        y -= 8

    text("Ime in priimek:", "Ana Novak")
    text("Delovno mesto / funkcija:", "svetovalka za odnose z javnostmi")
    text("E-naslov:", "ana.novak@kranj.si")
    boxes("Vrsta organizacije:", [("občina", True), ("javni zavod občine", False)])
    text("Naziv organizacije:", "Mestna občina Kranj")
    boxes("Vloga pri stikih z javnostmi:", [
        ("strokovni sodelavec / strokovna sodelavka za stike z javnostmi v občini", False),
        ("direktor / direktorica občinske uprave", True)])
    boxes("Soglasje:", [("Soglašam, da Skupnost občin Slovenije moje osebne podatke "
                         "obdeluje.", True)])
    canvas.showPage()
    canvas.save()

    def fill(writer: pypdf.PdfWriter) -> None:
        writer.update_page_form_field_values(writer.pages[0], values, auto_regenerate=False)
        annots: Any = writer.pages[0]["/Annots"]
        for ref in annots:
            widget = ref.get_object()
            if widget.get("/T") in ticked:  # a viewer ticks with its own on-state name
                on = NameObject("/Da")
                states = widget["/AP"]["/N"]
                states[on] = states.pop("/Yes")
                widget[NameObject("/V")] = on
                widget[NameObject("/AS")] = on

    return _rewrite(buffer.getvalue(), fill)


THEIR_FORM = {"full_name": "Ana Novak", "job_title": "svetovalka za odnose z javnostmi",
              "email": "ana.novak@kranj.si", "organization_type": "obcina",
              "organization": "Mestna občina Kranj", "role": "director", "consent": True}


def _wingdings_pdf() -> bytes:
    """Text in Helvetica, boxes as "þ" / "¨" in a font named Wingdings (Word's export)."""
    lines = [line.replace("[x]", "\x01þ\x02").replace("[ ]", "\x01¨\x02")
             for line in ANA_LINES]
    ops = ["BT", "/F1 9 Tf", "12 TL", "40 800 Td"]
    for line in lines:
        parts = line.replace("\x02", "\x01").split("\x01")
        for index, part in enumerate(parts):
            font = "/F2" if index % 2 else "/F1"
            escaped = part.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"{font} 9 Tf ({escaped} ) Tj")
        ops.append("T*")
    ops.append("ET")
    # WinAnsi lacks "č": its code points are given to it (and "Č") by /Differences.
    content = "\n".join(ops).replace("č", "\xe8").replace("Č", "\xc8").encode("cp1252")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /BaseEncoding "
        b"/WinAnsiEncoding /Differences [200 /Ccaron 232 /ccaron] >> >>",
        b"<< /Type /Font /Subtype /TrueType /BaseFont /Wingdings-Regular "
        b"/Encoding /WinAnsiEncoding /FontDescriptor 7 0 R >>",
        b"<< /Type /FontDescriptor /FontName /Wingdings-Regular /Flags 4 "
        b"/FontBBox [0 -200 1000 900] /ItalicAngle 0 /Ascent 900 /Descent -200 "
        b"/CapHeight 700 /StemV 80 >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def _rotated(data: bytes, degrees: int) -> bytes:
    def change(writer: pypdf.PdfWriter) -> None:
        writer.pages[0].rotate(degrees)

    return _rewrite(data, change)


def _xfa_only() -> bytes:
    """An XFA (LiveCycle) form: the page only asks for Adobe Reader, the data is XML."""
    notice = ["Please wait...", "If this message is not eventually replaced by the proper "
              "contents of the document, your PDF viewer may not be able to display it."]

    def change(writer: pypdf.PdfWriter) -> None:
        xfa = pypdf.generic.DecodedStreamObject()
        xfa.set_data(b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'><form1><ime>Ana Novak"
                     b"</ime></form1></xdp:xdp>")
        writer._root_object[NameObject("/AcroForm")] = pypdf.generic.DictionaryObject({
            NameObject("/Fields"): ArrayObject(),
            NameObject("/XFA"): writer._add_object(xfa),
        })

    return _rewrite(text_pdf([notice]), change)


# ---------------------------------------------------------------------------------------------
# The official form, filled or saved by other tools


def test_radio_states_numbered_with_an_opt_array() -> None:
    assert parse_pdf(_numbered_radios(with_opt=True), 20) == (ANA, PDF_ACROFORM)


def test_radio_states_numbered_without_opt_follow_the_widget_order() -> None:
    assert parse_pdf(_numbered_radios(with_opt=False), 20) == (ANA, PDF_ACROFORM)


def test_values_left_only_in_the_appearances() -> None:
    # Text drawn in the widgets (in a cp1250 font for "č"), ticks only in /AS.
    assert parse_pdf(_flattened_by_a_viewer(), 20) == (ANA, PDF_ACROFORM)


def test_acroform_removed_but_widgets_kept() -> None:
    assert parse_pdf(_without_acroform(), 20) == (ANA, PDF_ACROFORM)


# ---------------------------------------------------------------------------------------------
# Someone else's form and odd text layers


def test_someone_elses_fillable_form_is_read_where_its_fields_stand() -> None:
    assert parse_pdf(_their_form("Text", "Check Box "), 20) == (THEIR_FORM, PDF_TEXT)
    assert parse_pdf(_their_form("Besedilo", "Potrditveno polje "), 20) == (
        THEIR_FORM, PDF_TEXT)


def test_page_turned_with_rotate() -> None:
    for degrees in (90, 180, 270):
        assert parse_pdf(_rotated(text_pdf([ANA_LINES]), degrees), 20) == (ANA, PDF_TEXT)


def test_wingdings_boxes_as_latin_letters() -> None:
    assert parse_pdf(_wingdings_pdf(), 20) == (ANA, PDF_TEXT)


def test_xfa_only_form_says_why() -> None:
    assert parse_pdf(_xfa_only(), 20) == (None, XFA_ONLY)
