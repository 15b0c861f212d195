"""A form printed or flattened to PDF: its checkboxes are squares drawn on the page and its
ticks are strokes or a glyph inside them, with no ☒ in the text layer."""

from __future__ import annotations

import io
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from parsers.document import parse_document

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _drawn_form(tick: str) -> bytes:
    """Labels at the left, options each behind a drawn 9 pt square; chosen ones ticked."""
    font = "Helvetica"
    if DEJAVU.exists():
        pdfmetrics.registerFont(TTFont("DejaVu", str(DEJAVU)))
        font = "DejaVu"
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    page.setFont(font, 10)
    y = 780.0

    def text_row(label: str, value: str) -> None:
        nonlocal y
        page.drawString(60, y, label)
        page.drawString(250, y, value)
        y -= 22

    def options(label: str, choices: list[tuple[str, bool]]) -> None:
        nonlocal y
        page.drawString(60, y, label)
        for option, chosen in choices:
            page.rect(250, y - 1, 9, 9, stroke=1, fill=0)
            if chosen and tick == "strokes":
                page.line(251, y + 3, 254, y)
                page.line(254, y, 258, y + 8)
            elif chosen and tick == "glyph":
                page.drawString(251.5, y + 0.5, "X")
            page.drawString(264, y, option)
            y -= 16
        y -= 6

    page.drawString(60, y, "IZJAVA O PRISTOPU K MREŽI KOMUNIKATORJEV V OBČINAH IN OBČINSKIH "
                           "JAVNIH ZAVODIH")
    y -= 30
    text_row("Ime in priimek", "Ana Novak")
    text_row("Delovno mesto / funkcija", "svetovalka za odnose z javnostmi")
    text_row("E-naslov", "ana.novak@kranj.si")
    options("Vrsta organizacije", [("občina", True), ("javni zavod občine", False)])
    text_row("Naziv organizacije", "Mestna občina Kranj")
    options("Vloga pri stikih z javnostmi", [
        ("strokovni sodelavec / strokovna sodelavka za stike z javnostmi v občini", False),
        ("direktor / direktorica občinske uprave", True),
        ("župan / županja, ki stike z javnostmi opravlja sam / sama", False),
    ])
    options("Izkušnje na področju komuniciranja", [("začetnik / začetnica", False),
                                                  ("izkušen / izkušena", True)])
    options("Soglasje", [("Soglašam, da Skupnost občin Slovenije moje osebne podatke "
                          "obdeluje.", True)])
    page.save()
    return buffer.getvalue()


EXPECTED = {
    "full_name": "Ana Novak", "job_title": "svetovalka za odnose z javnostmi",
    "email": "ana.novak@kranj.si", "organization_type": "obcina",
    "organization": "Mestna občina Kranj", "role": "director", "experience": "experienced",
    "consent": True,
}


def test_ticks_drawn_as_strokes_are_read() -> None:
    [declaration] = parse_document(_drawn_form("strokes"), "natisnjena.pdf")
    assert declaration.problems == ()
    assert declaration.fields == EXPECTED


def test_ticks_drawn_as_a_glyph_inside_the_square_are_read() -> None:
    [declaration] = parse_document(_drawn_form("glyph"), "natisnjena.pdf")
    assert declaration.problems == ()
    assert declaration.fields == EXPECTED


def test_empty_squares_choose_nothing_and_give_no_consent() -> None:
    [declaration] = parse_document(_drawn_form("none"), "prazna.pdf")
    assert {k: v for k, v in declaration.fields.items() if k != "consent"} == {
        k: v for k, v in EXPECTED.items()
        if k not in ("organization_type", "role", "experience", "consent")}
    assert declaration.fields["consent"] is False
    assert set(declaration.problems) == {"missing:organization_type", "missing:role",
                                         "missing:consent"}
