"""The declaration in a PDF: the fillable form's AcroForm values first, else the text layer.

The PDF is opened once. When its AcroForm carries values (the official form filled in a
viewer) they win over the text layer, which then holds only the printed form; the text layer
is read only to fill fields the AcroForm leaves empty. A PDF without AcroForm values (a
document printed to PDF, a retyped form) is read line by line with `parsers.text`, like DOCX.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdftypes import resolve1
from pdfminer.psparser import PSLiteral
from pdfminer.utils import PDFDocEncoding
from pdfplumber.utils.exceptions import PdfminerException
from pdfplumber.utils.text import chars_to_textmap

from parsers.model import FIELDS, INTERESTS, Fields, missing_problems
from parsers.text import Segment, clean_email, clean_text, decide_choice, fold, read_lines

PDF_ACROFORM = "pdf-acroform"
PDF_TEXT = "pdf-text"
KINDS = (PDF_ACROFORM, PDF_TEXT)

ENCRYPTED = "šifriran PDF (zaščiten z geslom)"
NO_TEXT = "sken brez besedila (PDF brez besedilne plasti)"
BROKEN = "poškodovan PDF"

_MAX_FORM_FIELDS = 2000  # a form has ~25; more is a crafted file, not an applicant
_ACROFORM_NAMES = {fold(spec.acroform): spec.name for spec in FIELDS if spec.kind != "set"}
_INTEREST_NAMES = {fold(str(choice.acroform)): choice.value for choice in INTERESTS}
_OFF = frozenset({"", "off", "no", "false", "0", "ne"})
_FORM_NAMES_NEEDED = 4  # this many of our AcroForm names make it the official form


def parse_pdf(data: bytes, max_pages: int) -> tuple[Fields | None, str]:
    """(fields, kind) of the declaration in the PDF, or (None, kind) when it holds none.

    When the PDF cannot be read the result is (None, detail) where `detail` says why in
    Slovenian and is not one of `KINDS`: encrypted with a password, a scan with no text, or
    broken.
    """
    try:
        pdf = pdfplumber.open(io.BytesIO(data), pages=list(range(1, max_pages + 1)))
    except PdfminerException as error:
        cause = error.args[0] if error.args else error
        if isinstance(cause, PDFPasswordIncorrect | PDFEncryptionError):
            return None, ENCRYPTED
        return None, BROKEN
    with pdf:
        values, form_names = _acroform(pdf.doc)
        acro = _acro_fields(values)
        has_values = any(value not in ("", False) for value in acro.values()) or bool(
            acro.get("interests"))
        if has_values and not missing_problems(acro):
            return acro, PDF_ACROFORM
        text = "\n".join(_page_texts(pdf))
    reading = read_lines(text)
    if has_values:
        # The widgets are not in the text layer: there, every option stands unmarked and the
        # consent sentence has no box, so only fields the AcroForm lacks are taken from it.
        merged = dict(reading.fields) if reading.is_declaration else {}
        merged.update({name: value for name, value in acro.items() if value != ""})
        merged["consent"] = acro.get("consent", False)
        return _ordered(merged), PDF_ACROFORM
    if not text.strip():
        return None, NO_TEXT
    if reading.is_declaration or form_names >= _FORM_NAMES_NEEDED:
        fields = dict(reading.fields)
        if form_names >= _FORM_NAMES_NEEDED:
            fields["consent"] = False  # the official form, unfilled: its box is a widget
        return fields, PDF_TEXT
    return None, PDF_TEXT


def _page_texts(pdf: Any) -> Iterator[str]:
    for page in pdf.pages:
        boxes = _checkboxes(page)
        if not boxes:
            yield page.extract_text() or ""
            continue
        # Checkboxes drawn as graphics (a form printed or flattened to PDF) have no text:
        # each becomes a ☒ or ☐ character where it stands, and whatever was drawn as its
        # tick is dropped, so the label grammar reads the marks as it reads typed ones.
        chars = [char for char in page.chars if not any(_inside(char, box) for box, _ in boxes)]
        chars += [_glyph(box, ticked) for box, ticked in boxes]
        yield chars_to_textmap(
            chars, layout_bbox=page.bbox, layout_width=page.width, layout_height=page.height,
        ).as_string or ""


# A checkbox is a square this many points wide; its tick is anything drawn inside it.
_BOX_MIN, _BOX_MAX, _BOX_SQUARE = 5.0, 18.0, 1.5
_MAX_BOXES = 200  # a form has ~20; a page of squares is a drawing, not a form


def _checkboxes(page: Any) -> list[tuple[dict[str, float], bool]]:
    """The squares drawn on the page and whether something was drawn inside each."""
    squares = [
        rect for rect in page.rects
        if _BOX_MIN <= rect["width"] <= _BOX_MAX and _BOX_MIN <= rect["height"] <= _BOX_MAX
        and abs(rect["width"] - rect["height"]) <= _BOX_SQUARE
    ]
    if not squares or len(squares) > _MAX_BOXES:
        return []
    inner = [
        *page.chars, *page.lines, *page.curves,
        *(rect for rect in page.rects if rect not in squares),
    ]
    return [(box, any(_inside(thing, box) for thing in inner)) for box in squares]


def _inside(thing: Any, box: dict[str, float], slack: float = 1.0) -> bool:
    return bool(
        thing["x0"] >= box["x0"] - slack and thing["x1"] <= box["x1"] + slack
        and thing["top"] >= box["top"] - slack and thing["bottom"] <= box["bottom"] + slack
    )


def _glyph(box: dict[str, float], ticked: bool) -> dict[str, Any]:
    size = box["bottom"] - box["top"]
    return {
        "text": "☒" if ticked else "☐", "x0": box["x0"], "x1": box["x1"],
        "top": box["top"], "bottom": box["bottom"], "doctop": box.get("doctop", box["top"]),
        "upright": True, "size": size, "width": box["x1"] - box["x0"], "height": size,
        "fontname": "checkbox", "object_type": "char", "page_number": box.get("page_number", 1),
        "matrix": (1, 0, 0, 1, box["x0"], box["top"]),
    }


def _ordered(fields: Fields) -> Fields:
    order = [spec.name for spec in FIELDS]
    return {name: fields[name] for name in order if name in fields}


# ---------------------------------------------------------------------------------------------
# AcroForm


def _acroform(document: Any) -> tuple[dict[str, str], int]:
    """The form's values by field name (last part, folded), and how many names are ours."""
    form = resolve1(document.catalog.get("AcroForm"))
    if not isinstance(form, dict):
        return {}, 0
    roots = resolve1(form.get("Fields"))
    if not isinstance(roots, list):
        return {}, 0
    values: dict[str, str] = {}
    names: set[str] = set()
    seen: set[int] = set()
    stack: list[tuple[Any, str | None]] = [(ref, None) for ref in reversed(roots)]
    while stack and len(seen) < _MAX_FORM_FIELDS:
        ref, inherited = stack.pop()
        key = id(ref) if not hasattr(ref, "objid") else int(ref.objid)
        if key in seen:
            continue
        seen.add(key)
        node = resolve1(ref)
        if not isinstance(node, dict):
            continue
        name = fold(decode_pdf_text(node.get("T"))).strip() if "T" in node else ""
        value = _value(node.get("V")) if "V" in node else inherited
        kids = resolve1(node.get("Kids"))
        if name:
            short = name.rsplit(".", 1)[-1]
            names.add(short)
            if value is None and isinstance(kids, list):
                value = _widget_state(kids)
            if value is not None and (short not in values or not values[short]):
                values[short] = value
        if isinstance(kids, list):
            stack.extend((kid, value) for kid in reversed(kids))
    ours = sum(1 for name in names if name in _ACROFORM_NAMES or name in _INTEREST_NAMES)
    return values, ours


def _widget_state(kids: list[Any]) -> str | None:
    """A radio group's choice from its widgets' appearance states, when /V is missing."""
    for kid in kids:
        widget = resolve1(kid)
        if isinstance(widget, dict) and "T" not in widget:
            state = _value(widget.get("AS"))
            if state and fold(state) not in _OFF:
                return state
    return None


def _value(raw: Any) -> str | None:
    value = resolve1(raw)
    if value is None:
        return None
    if isinstance(value, PSLiteral):
        name = value.name
        return name.decode("latin-1") if isinstance(name, bytes) else str(name)
    if isinstance(value, bytes):
        return decode_pdf_text(value)
    if isinstance(value, list):
        parts = [_value(item) for item in value[:20]]
        return "\n".join(part for part in parts if part)
    if isinstance(value, int | float | str):
        return str(value)
    return None


def decode_pdf_text(raw: Any) -> str:
    """A PDF text string: UTF-16BE or UTF-8 with their byte order marks, else PDFDocEncoding."""
    value = resolve1(raw)
    if isinstance(value, PSLiteral):
        return _value(value) or ""
    if isinstance(value, str):
        return value
    if not isinstance(value, bytes):
        return ""
    if value.startswith(b"\xfe\xff"):
        return value[2:].decode("utf-16-be", "replace")
    if value.startswith(b"\xff\xfe"):
        return value[2:].decode("utf-16-le", "replace")
    if value.startswith(b"\xef\xbb\xbf"):
        return value[3:].decode("utf-8", "replace")
    return "".join(PDFDocEncoding[byte] for byte in value)


def _acro_fields(values: dict[str, str]) -> Fields:
    fields: Fields = {}
    interests: list[str] = []
    for name, raw in values.items():
        field = _ACROFORM_NAMES.get(name)
        interest = _INTEREST_NAMES.get(name)
        if interest is not None:
            if fold(raw).strip() not in _OFF:
                interests.append(interest)
        elif field == "email":
            address = clean_email(raw)
            if address:
                fields[field] = address
        elif field == "consent":
            fields[field] = fold(raw).strip() not in _OFF
        elif field in ("organization_type", "role", "experience"):
            choice = _choice(field, raw)
            if choice:
                fields[field] = choice
        elif field is not None:
            text = clean_text(raw)
            if text:
                fields[field] = text
    if fields.get("interests_other"):
        interests.append("other")
    if interests:
        fields["interests"] = [c.value for c in INTERESTS if c.value in set(interests)]
    if fields:
        fields.setdefault("consent", False)
    return _ordered(fields)


def _choice(field: str, raw: str) -> str | None:
    spec = next(spec for spec in FIELDS if spec.name == field)
    wanted = fold(raw).strip().lstrip("/")  # a name written as a string: "/director"
    if wanted in _OFF:
        return None
    for choice in spec.choices:
        if wanted == choice.value:
            return choice.value
    # An editor that exported the printed option, or "Choice2": read it like typed text.
    return decide_choice(field, [Segment(None, raw)])
