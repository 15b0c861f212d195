"""The declaration in a PDF: the fillable form's AcroForm values first, else the text layer.

The PDF is opened once. When its AcroForm carries values (the official form filled in a
viewer) they win over the text layer, which then holds only the printed form; the text layer
is read only to fill fields the AcroForm leaves empty. A PDF without AcroForm values (a
document printed to PDF, a retyped form) is read line by line with `parsers.text`, like DOCX;
form fields that are not ours (someone else's form) are read there as their values and marks
placed where their widgets stand.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pdfplumber
from pdfminer.pdfcolor import PDFColorSpace
from pdfminer.pdfdevice import PDFTextDevice
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdffont import PDFFont, PDFUnicodeNotDefined
from pdfminer.pdfinterp import PDFGraphicState, PDFPageInterpreter, PDFResourceManager
from pdfminer.pdftypes import PDFStream, resolve1
from pdfminer.psparser import LIT, PSLiteral
from pdfminer.utils import Matrix, PDFDocEncoding
from pdfplumber.utils.exceptions import PdfminerException
from pdfplumber.utils.text import chars_to_textmap

from parsers.model import FIELDS, INTERESTS, Fields, missing_problems
from parsers.text import (
    MAX_LINE,
    Segment,
    clean_email,
    clean_text,
    decide_choice,
    fold,
    read_declarations,
)

PDF_ACROFORM = "pdf-acroform"
PDF_TEXT = "pdf-text"
KINDS = (PDF_ACROFORM, PDF_TEXT)

ENCRYPTED = "šifriran PDF (zaščiten z geslom)"
NO_TEXT = "sken brez besedila (PDF brez besedilne plasti)"
BROKEN = "poškodovan PDF"
XFA_ONLY = "obrazec XFA (Adobe LiveCycle), ki ga ne beremo; prosimo za PDF, DOCX ali besedilo"

_MAX_FORM_FIELDS = 2000  # a form has ~25; more is a crafted file, not an applicant
_ACROFORM_NAMES = {fold(spec.acroform): spec.name for spec in FIELDS if spec.kind != "set"}
_INTEREST_NAMES = {fold(str(choice.acroform)): choice.value for choice in INTERESTS}
_OFF = frozenset({"", "off", "no", "false", "0", "ne"})
_FORM_NAMES_NEEDED = 4  # this many of our AcroForm names make it the official form


def parse_pdf(data: bytes, max_pages: int) -> tuple[Fields | None, str]:
    """(fields, kind) of the (first) declaration in the PDF, or (None, kind) when it holds
    none; see `parse_pdf_all`."""
    found, kind = parse_pdf_all(data, max_pages)
    return (found[0] if found else None), kind


def parse_pdf_all(data: bytes, max_pages: int) -> tuple[list[Fields], str]:
    """(fields of each declaration, kind): usually one; several when the text layer holds
    the form filled in once per person (pages of a merged print); [] when it holds none.

    When the PDF cannot be read the result is ([], detail) where `detail` says why in
    Slovenian and is not one of `KINDS`: encrypted with a password, a scan with no text, an
    XFA-only form, or broken.
    """
    try:
        pdf = pdfplumber.open(io.BytesIO(data), pages=list(range(1, max_pages + 1)))
    except PdfminerException as error:
        cause = error.args[0] if error.args else error
        if isinstance(cause, PDFPasswordIncorrect | PDFEncryptionError):
            return [], ENCRYPTED
        return [], BROKEN
    with pdf:
        appearances = _Appearances()
        values, form_names, xfa = _acroform(pdf.doc, pdf.pages, appearances)
        acro = _acro_fields(values)
        has_values = any(value not in ("", False) for value in acro.values()) or bool(
            acro.get("interests"))
        if has_values and not missing_problems(acro):
            return [acro], PDF_ACROFORM
        text = "\n".join(_page_texts(pdf, appearances))
    readings = read_declarations([(None, text)])
    reading = readings[0]
    if has_values:
        # The widgets are not in the text layer: there, every option stands unmarked and the
        # consent sentence has no box, so only fields the AcroForm lacks are taken from it.
        merged = dict(reading.fields) if reading.is_declaration else {}
        merged.update({name: value for name, value in acro.items() if value != ""})
        merged["consent"] = acro.get("consent", False)
        return [_ordered(merged)], PDF_ACROFORM
    if xfa and not reading.is_declaration and form_names < _FORM_NAMES_NEEDED:
        # An XFA-only form draws its fields from XML at view time: the page holds no more
        # than a "please wait" notice, so say why instead of passing it as no declaration.
        return [], XFA_ONLY
    if not text.strip():
        return [], NO_TEXT
    if reading.is_declaration or form_names >= _FORM_NAMES_NEEDED:
        fields = dict(reading.fields)
        if form_names >= _FORM_NAMES_NEEDED:
            fields["consent"] = False  # the official form, unfilled: its box is a widget
        return [fields] + [dict(more.fields) for more in readings[1:]], PDF_TEXT
    return [], PDF_TEXT


def _page_texts(pdf: Any, appearances: _Appearances) -> Iterator[str]:
    for page in pdf.pages:
        widgets = _widgets(page, appearances)
        rects = [rect for rect, _ in widgets]
        fields = _bands(rects)
        boxes = [(box, ticked) for box, ticked in _checkboxes(page)
                 if not _covered(box, fields)]  # a widget's own border, drawn on the page
        # Checkboxes drawn as graphics (a form printed or flattened to PDF) have no text:
        # each becomes a ☒ or ☐ character where it stands, and whatever was drawn as its
        # tick is dropped, so the label grammar reads the marks as it reads typed ones. A
        # form field (someone else's form, named Text1 or Check Box 3) is its value or its
        # mark where the widget stands, in place of what the page draws beneath it.
        covers = _bands([box for box, _ in boxes] + rects)
        chars = [char for char in page.chars if not _covered(char, covers)]
        chars += [_glyph(box, "☒" if ticked else "☐") for box, ticked in boxes]
        chars += [glyph for _, glyph in widgets]
        chars = _upright([_wingdings(char) for char in chars])
        yield chars_to_textmap(
            chars, layout_bbox=page.bbox, layout_width=page.width, layout_height=page.height,
        ).as_string or ""


_MAX_WIDGETS = 500


def _widgets(
    page: Any, appearances: _Appearances,
) -> list[tuple[dict[str, float], dict[str, Any]]]:
    """The page's form fields, each its rectangle and a character: a text field's value, a
    button's ☒ or ☐."""
    annots = resolve1(page.page_obj.annots)
    if not isinstance(annots, list):
        return []
    found: list[tuple[dict[str, float], dict[str, Any]]] = []
    for ref in annots[:_MAX_WIDGETS]:
        widget = resolve1(ref)
        if not isinstance(widget, dict) or resolve1(widget.get("Subtype")) != _WIDGET:
            continue
        box = _rect(page, widget)
        field_type = _inherited(widget, "FT")
        if box is None or field_type not in (_TEXT, _CHOICE, _BUTTON):
            continue
        if field_type == _BUTTON:
            if int(resolve1(_inherited(widget, "Ff")) or 0) & _PUSHBUTTON:
                continue
            state = _value(widget.get("AS"))
            found.append((box, _glyph(box, "☐" if state is None or fold(state) == "off" else "☒")))
            continue
        raw = _inherited(widget, "V")
        text = _value(raw) if raw is not None else appearances.text(widget, None)
        text = " ".join((text or "").split())
        if text:
            found.append((box, _glyph(box, text[:MAX_LINE])))
    return found


_WIDGET, _BUTTON = LIT("Widget"), LIT("Btn")
_PUSHBUTTON = 1 << 16


def _inherited(widget: dict[str, Any], key: str) -> Any:
    """A field attribute, from the widget or the field above it (PDF 1.7, 12.7.3.1)."""
    node: Any = widget
    for _ in range(_MAX_DEPTH):
        if not isinstance(node, dict):
            return None
        if key in node:
            return resolve1(node[key])
        node = resolve1(node.get("Parent"))
    return None


def _rect(page: Any, widget: dict[str, Any]) -> dict[str, float] | None:
    """The widget's rectangle in pdfplumber's page space (top down, the page's /Rotate)."""
    rect = resolve1(widget.get("Rect"))
    if not isinstance(rect, list) or len(rect) != 4:
        return None
    try:
        x0, y0, x1, y1 = (float(resolve1(number)) for number in rect)
    except (TypeError, ValueError):
        return None
    corners = [(x0, y0), (x1, y1)]
    for turn in range(page.rotation // 90 % 4):  # as pdfplumber turns the page's characters
        side = page.width if turn == (page.rotation // 90 % 4) % 2 else page.height
        corners = [(y, side - x) for x, y in corners]
    (x0, y0), (x1, y1) = corners
    height = page.root_page.height
    x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    return {"x0": x0, "x1": x1, "top": height - y1, "bottom": height - y0,
            "doctop": page.initial_doctop + height - y1, "page_number": page.page_number}


# Wingdings draws its boxes at Latin-1 code points; a PDF that embeds it maps them back to
# those letters ("þ" for ☒), so they become the private-use marks the grammar knows.
_WINGDINGS = {"þ": "\uf0fe", "ý": "\uf0fd", "û": "\uf0fb", "ü": "\uf0fc", "¨": "\uf0a8",
              "o": "\uf06f", "q": "\uf071"}


def _wingdings(char: dict[str, Any]) -> dict[str, Any]:
    mark = _WINGDINGS.get(char["text"])
    if mark is None or "wingdings" not in str(char.get("fontname", "")).lower():
        return char
    return {**char, "text": mark}


def _upright(chars: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The characters turned so that most of them read left to right.

    A page with /Rotate (or landscape text drawn turned) gives characters whose direction is
    down, up or right to left; the text map clusters lines top to bottom, so the page is
    turned back first.
    """
    counts: dict[tuple[int, int], int] = {}
    for char in chars:
        matrix = char.get("matrix") or (1, 0, 0, 1, 0, 0)
        direction = (_sign(matrix[0]), -_sign(matrix[1]))  # in top-down page space
        counts[direction] = counts.get(direction, 0) + 1
    if not counts:
        return chars
    dx, dy = max(counts, key=lambda direction: counts[direction])
    if (dx, dy) == (1, 0) or abs(dx) + abs(dy) != 1:
        return chars
    turned = []
    for char in chars:
        us = (char["x0"] * dx + char["top"] * dy, char["x1"] * dx + char["bottom"] * dy)
        vs = (-char["x0"] * dy + char["top"] * dx, -char["x1"] * dy + char["bottom"] * dx)
        turned.append({**char, "x0": min(us), "x1": max(us), "top": min(vs), "bottom": max(vs),
                       "upright": True})
    left = min(char["x0"] for char in turned)
    top = min(char["top"] for char in turned)
    return [{**char, "x0": char["x0"] - left, "x1": char["x1"] - left,
             "top": char["top"] - top, "bottom": char["bottom"] - top,
             "doctop": char["top"] - top} for char in turned]


def _sign(number: float) -> int:
    return 0 if abs(number) < 1e-6 else (1 if number > 0 else -1)


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
    square_ids = {id(square) for square in squares}
    inner = [
        *page.chars, *page.lines, *page.curves,
        *(rect for rect in page.rects if id(rect) not in square_ids),
    ]
    # Each thing is checked against the squares in its band only: linear on a full page.
    bands = _bands(squares)
    ticked: set[int] = set()
    for thing in inner:
        for box in bands.get(int(thing["top"] // _BAND), ()):
            if _inside(thing, box):
                ticked.add(id(box))
    return [(box, id(box) in ticked) for box in squares]


_BAND = 24.0  # points: covers are looked up by horizontal bands, not each against each


Bands = dict[int, list[dict[str, float]]]


def _bands(covers: list[dict[str, float]]) -> Bands:
    bands: Bands = {}
    for cover in covers:
        first, last = int((cover["top"] - 1) // _BAND), int((cover["bottom"] + 1) // _BAND)
        for band in range(first, min(last, first + 100) + 1):
            bands.setdefault(band, []).append(cover)
    return bands


def _covered(thing: Any, bands: Bands) -> bool:
    """Whether the thing lies inside one of the covers in the band where its top is."""
    return any(_inside(thing, cover) for cover in bands.get(int(thing["top"] // _BAND), ()))


def _inside(thing: Any, box: dict[str, float], slack: float = 1.0) -> bool:
    return bool(
        thing["x0"] >= box["x0"] - slack and thing["x1"] <= box["x1"] + slack
        and thing["top"] >= box["top"] - slack and thing["bottom"] <= box["bottom"] + slack
    )


def _glyph(box: dict[str, float], text: str) -> dict[str, Any]:
    """A character for `text` standing in the box (one line of a field, or a box's mark)."""
    size = min(box["bottom"] - box["top"], _FIELD_SIZE)
    top = box["top"] + (box["bottom"] - box["top"] - size) / 2
    return {
        "text": text, "x0": box["x0"], "x1": box["x1"],
        "top": top, "bottom": top + size, "doctop": box.get("doctop", box["top"]),
        "upright": True, "size": size, "width": box["x1"] - box["x0"], "height": size,
        "fontname": "form", "object_type": "char", "page_number": box.get("page_number", 1),
        "matrix": (1, 0, 0, 1, box["x0"], box["top"]),
    }


_FIELD_SIZE = 10.0  # points: a field's text line, centred in a taller field


def _ordered(fields: Fields) -> Fields:
    order = [spec.name for spec in FIELDS]
    return {name: fields[name] for name in order if name in fields}


# ---------------------------------------------------------------------------------------------
# AcroForm


def _acroform(
    document: Any, pages: Any, appearances: _Appearances,
) -> tuple[dict[str, str], int, bool]:
    """The form's values by field name (last part, folded), how many names are ours, and
    whether the form is XFA."""
    form = resolve1(document.catalog.get("AcroForm"))
    form = form if isinstance(form, dict) else {}
    roots = resolve1(form.get("Fields"))
    if not isinstance(roots, list) or not roots:
        # A tool that dropped the AcroForm (or never wrote one) leaves the widgets on the
        # pages, and they still carry the fields' names and values.
        roots = _annotation_roots(pages)
    xfa = form.get("XFA") is not None
    values: dict[str, str] = {}
    names: set[str] = set()
    seen: set[int] = set()
    stack: list[tuple[Any, str | None, Any]] = [(ref, None, None) for ref in reversed(roots)]
    while stack and len(seen) < _MAX_FORM_FIELDS:
        ref, inherited, inherited_type = stack.pop()
        key = _key(ref)
        if key in seen:
            continue
        seen.add(key)
        node = resolve1(ref)
        if not isinstance(node, dict):
            continue
        name = fold(decode_pdf_text(node.get("T"))).strip() if "T" in node else ""
        value = _value(node.get("V")) if "V" in node else inherited
        field_type = resolve1(node.get("FT", inherited_type))
        kids = resolve1(node.get("Kids"))
        if name:
            short = name.rsplit(".", 1)[-1]
            names.add(short)
            if value is None and isinstance(kids, list):
                value = _widget_state(kids)
            elif value is None and "AS" in node:
                # A checkbox that is its own widget, saved (or flattened) without /V.
                value = _value(node.get("AS"))
            elif value is None and field_type in (_TEXT, _CHOICE):
                # Flattened by a viewer that kept the widgets: the text is only drawn.
                value = appearances.text(node, kids)
            value = _export_value(node, kids, value)
            if value is not None and (short not in values or not values[short]):
                values[short] = value
        if isinstance(kids, list):
            stack.extend((kid, value, field_type) for kid in reversed(kids))
    ours = sum(1 for name in names if name in _ACROFORM_NAMES or name in _INTEREST_NAMES)
    return values, ours, xfa


_TEXT, _CHOICE = LIT("Tx"), LIT("Ch")
_MAX_APPEARANCE = 64 * 1024  # a field's drawing is a few hundred bytes


class _Appearances(PDFTextDevice):
    """Reads the text a widget's appearance stream draws, line by line."""

    def __init__(self) -> None:
        super().__init__(PDFResourceManager(caching=True))
        self.interpreter = PDFPageInterpreter(self.rsrcmgr, self)
        self.drawn: list[tuple[float, float, str]] = []

    def text(self, node: dict[str, Any], kids: Any) -> str | None:
        widgets = [node, *(kids[:_MAX_OPTIONS] if isinstance(kids, list) else [])]
        for widget in widgets:
            stream = resolve1(_get(_get(widget, "AP"), "N"))
            if not isinstance(stream, PDFStream) or len(stream.rawdata or b"") > _MAX_APPEARANCE:
                continue
            resources = resolve1(stream.get("Resources"))
            self.drawn = []
            try:
                self.interpreter.render_contents(
                    resources if isinstance(resources, dict) else {}, [stream])
            except Exception:  # one broken drawing must not lose the other fields
                continue
            lines: dict[int, list[tuple[float, str]]] = {}
            for y, x, char in self.drawn:
                lines.setdefault(round(y), []).append((x, char))
            text = "\n".join(
                "".join(char for _, char in sorted(lines[y])) for y in sorted(lines, reverse=True)
            ).strip()
            if text:
                return text
        return None

    def render_char(
        self, matrix: Matrix, font: PDFFont, fontsize: float, scaling: float, rise: float,
        cid: int, ncs: PDFColorSpace, graphicstate: PDFGraphicState,
    ) -> float:
        try:
            char = font.to_unichr(cid)
        except PDFUnicodeNotDefined:
            char = ""
        if len(self.drawn) < MAX_LINE:
            self.drawn.append((matrix[5], matrix[4], char))
        return float(font.char_width(cid)) * fontsize * scaling


def _key(ref: Any) -> int:
    return int(ref.objid) if hasattr(ref, "objid") else id(ref)


def _annotation_roots(pages: Any) -> list[Any]:
    """The top fields of the widgets on the pages, each once."""
    roots: list[Any] = []
    seen: set[int] = set()
    for page in pages:
        annots = resolve1(page.page_obj.annots)
        if not isinstance(annots, list):
            continue
        for ref in annots[:_MAX_FORM_FIELDS]:
            node = ref
            for _ in range(_MAX_DEPTH):  # a /Parent chain that loops must still end
                parent = _get(node, "Parent")
                if parent is None:
                    break
                node = parent
            if _key(node) not in seen and len(seen) < _MAX_FORM_FIELDS:
                seen.add(_key(node))
                roots.append(node)
    return roots


_MAX_DEPTH = 16


def _get(ref: Any, key: str) -> Any:
    node = resolve1(ref)
    return node.get(key) if isinstance(node, dict) else None


def _export_value(node: dict[str, Any], kids: Any, value: str | None) -> str | None:
    """A button state that stands for an option by its position: /0 /1 /2 instead of names.

    With /Opt the state indexes the export values (PDF 1.5 radio groups, as Acrobat and
    LibreOffice write them); without it the state is a widget's own, so the position of the
    widget that draws it among the group's kids is the option (marked "#position/count").
    """
    if value is None or not value.isdigit() or len(value) > 4:
        return value
    options = resolve1(node.get("Opt"))
    if isinstance(options, list) and int(value) < len(options):
        option = resolve1(options[int(value)])
        if isinstance(option, list) and option:  # [export value, shown text]
            option = option[0]
        return _value(option) or value
    if isinstance(kids, list) and 0 < len(kids) <= _MAX_OPTIONS:
        for position, kid in enumerate(kids):
            states = _get(_get(kid, "AP"), "N")
            if isinstance(resolve1(states), dict) and _has_state(resolve1(states), value):
                return f"#{position}/{len(kids)}"
    return value


_MAX_OPTIONS = 50


def _has_state(states: dict[Any, Any], value: str) -> bool:
    return any(str(name) == value for name in states)


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
    position, _, count = wanted.lstrip("#").partition("/")
    if wanted.startswith("#") and count == str(len(spec.choices)) and position.isdigit():
        # Widgets with numbered states, as many as the options: they stand in form order.
        return spec.choices[int(position)].value
    if wanted in _OFF:
        return None
    for choice in spec.choices:
        if wanted == choice.value:
            return choice.value
    # An editor that exported the printed option, or "Choice2": read it like typed text.
    return decide_choice(field, [Segment(None, raw)])
