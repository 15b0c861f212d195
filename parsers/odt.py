"""The declaration in an OpenDocument text (ODT, LibreOffice's own format).

content.xml is walked like the DOCX body (parsers.docx): paragraphs, headings and list items
become free lines, table rows label/value items through the same row rules
(`parsers.docx.row_items`), a row of labels over a row of answers column by column.
Struck-through text (an automatic style with a line-through) is left out, as a crossed-out
option. Every checkbox becomes ☒ or ☐ in front of its option: a form control (form:checkbox
or form:radio bound to a draw:control), a Word form field as LibreOffice keeps it
(field:fieldmark FORMCHECKBOX), and a box typed in a symbol font ("þ" in a Wingdings span
draws ☒). A dropdown reads as its chosen entry (a FORMDROPDOWN fieldmark keeps only an index
into its list). Text boxes (draw:frame/draw:text-box, draw:custom-shape) are read after the
paragraph that anchors them, as in the DOCX reader. Tracked deletions, notes and annotations
are not read.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator

from lxml import etree

# The DOCX reader's table rules and symbol-font tables: ODT tables and fonts follow Word's.
from parsers.docx import (
    SYMBOL_FONTS,
    CellBlocks,
    ParagraphWalk,
    TableCell,
    label_with_boxes,
    row_items,
    table_items,
)
from parsers.limits import DEFAULT_LIMITS, Limits, read_member, zip_refusal
from parsers.model import Fields
from parsers.text import Item, declared_fields, match_label

OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
FO = "{urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0}"
SVG = "{urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0}"
FORM = "{urn:oasis:names:tc:opendocument:xmlns:form:1.0}"
DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
# Word's legacy form fields, as LibreOffice keeps them (FORMCHECKBOX, FORMDROPDOWN, FORMTEXT).
FIELD = "{urn:openoffice:names:experimental:ooo-ms-interop:xmlns:field:1.0}"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"

ON, OFF = "☒", "☐"
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True,
    remove_pis=True,
)
_UNREAD = frozenset({f"{TEXT}note", f"{OFFICE}annotation", f"{TEXT}tracked-changes",
                     f"{OFFICE}annotation-end", f"{FIELD}param"})
_BOXES = frozenset({f"{DRAW}frame", f"{DRAW}custom-shape", f"{DRAW}rect", f"{DRAW}text-box"})
_MAX_SPACES = 100  # text:s text:c="…": a count, not a reason to allocate megabytes
_MAX_OPEN_FIELDS = 64  # a paragraph that opens more fieldmarks than this is not a form
_MAX_PARENTS = 16  # a style's parent chain; a loop or a hostile depth ends here
_CHECKBOX = "vnd.oasis.opendocument.field.FORMCHECKBOX"
_DROPDOWN = "vnd.oasis.opendocument.field.FORMDROPDOWN"
_TRUE = ("1", "true", "on", "checked")


class OdtError(ValueError):
    """The package is not a readable OpenDocument text (the message says why, in Slovenian)."""


def parse_odt(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> Fields | None:
    """The (first) declaration's fields, or None when the document holds no declaration.

    Raises OdtError (or zipfile/lxml errors) when the bytes are not a readable ODT.
    """
    found = parse_odt_all(data, limits=limits)
    return found[0] if found else None


def parse_odt_all(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> list[Fields]:
    """The fields of each declaration (several when the form is filled in once per
    colleague in one document); [] when it holds none."""
    return declared_fields(odt_items(data, limits=limits))


def odt_items(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> list[Item]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        refusal = zip_refusal(archive, limits)
        if refusal:
            raise OdtError(refusal)
        if "content.xml" not in archive.namelist():
            raise OdtError("v paketu ODT ni vsebine (content.xml)")
        xml = read_member(archive, "content.xml", limits.max_zip_uncompressed)
    root = etree.fromstring(xml, _PARSER)
    text = root.find(f"{OFFICE}body/{OFFICE}text")
    if text is None:
        raise OdtError("dokument OpenDocument ni besedilo (ODT)")
    struck, symbols = _text_styles(root)
    reader = _Reader(struck, symbols, _controls(text))
    return list(reader.blocks(text))


def _text_styles(root: etree._Element) -> tuple[frozenset[str], dict[str, dict[int, str]]]:
    """The automatic styles that strike text through, and those set in a symbol font
    (Wingdings, Wingdings 2, Symbol) with that font's table of boxes and ticks.

    A style names a font face (style:font-name, declared in office:font-face-decls with its
    family) or a family directly (fo:font-family); either may come from its parent style.
    """
    faces: dict[str, str] = {}
    decls = root.find(f"{OFFICE}font-face-decls")
    if decls is not None:
        for face in decls.iter(f"{STYLE}font-face"):
            family = str(face.get(f"{SVG}font-family") or face.get(f"{STYLE}name") or "")
            faces[str(face.get(f"{STYLE}name", ""))] = family.strip("'\" ").lower()
    styles = root.find(f"{OFFICE}automatic-styles")
    if styles is None:
        return frozenset(), {}
    own: dict[str, tuple[bool | None, str | None, str]] = {}
    for style in styles.iter(f"{STYLE}style"):
        struck: bool | None = None
        font: str | None = None
        properties = style.find(f"{STYLE}text-properties")
        if properties is not None:
            line = properties.get(f"{STYLE}text-line-through-style")
            kind = properties.get(f"{STYLE}text-line-through-type")
            if line is not None or kind is not None:
                struck = (line or "none") != "none" or (kind or "none") != "none"
            for name in ("font-name", "font-name-complex", "font-name-asian"):
                face = properties.get(f"{STYLE}{name}")
                if face is not None:
                    font = faces.get(face, face.lower())
                    break
            family = properties.get(f"{FO}font-family")
            if font is None and family is not None:
                font = family.strip("'\" ").lower()
        own[str(style.get(f"{STYLE}name", ""))] = (
            struck, font, str(style.get(f"{STYLE}parent-style-name", "")))
    struck_names: set[str] = set()
    symbols: dict[str, dict[int, str]] = {}
    for name in own:
        struck, font, parent = own[name]
        for _ in range(_MAX_PARENTS):
            if (struck is not None and font is not None) or parent not in own:
                break
            above = own[parent]
            struck = above[0] if struck is None else struck
            font = above[1] if font is None else font
            parent = above[2]
        if struck:
            struck_names.add(name)
        table = SYMBOL_FONTS.get(font or "")
        if table is not None:
            symbols[name] = table
    return frozenset(struck_names), symbols


def _controls(text: etree._Element) -> dict[str, bool]:
    """The state of each form checkbox and radio button, by the id its draw:control names."""
    states: dict[str, bool] = {}
    forms = text.find(f"{OFFICE}forms")
    if forms is None:
        return states
    for control in forms.iter(f"{FORM}checkbox", f"{FORM}radio"):
        key = control.get(XML_ID) or control.get(f"{FORM}id") or ""
        if control.tag == f"{FORM}checkbox":
            state = control.get(f"{FORM}current-state") or control.get(f"{FORM}state") or ""
        else:
            state = (control.get(f"{FORM}current-selected") or control.get(f"{FORM}selected")
                     or "")
        if key:
            states[key] = state.lower() in _TRUE
    return states


class _Reader:
    def __init__(self, struck: frozenset[str], symbols: dict[str, dict[int, str]],
                 controls: dict[str, bool]) -> None:
        self.struck = struck
        self.symbols = symbols
        self.controls = controls

    def blocks(self, container: etree._Element) -> Iterator[Item]:
        for child in container:
            tag = child.tag
            if tag in (f"{TEXT}p", f"{TEXT}h"):
                if child.get(f"{TEXT}style-name") not in self.struck:
                    yield from self.paragraph_items(child)
            elif tag == f"{TABLE}table":
                yield from self.table(child)
            elif tag in (f"{TEXT}list", f"{TEXT}list-item", f"{TEXT}list-header",
                         f"{TEXT}section", f"{TEXT}index-body", f"{DRAW}text-box"):
                yield from self.blocks(child)

    def paragraph_items(self, paragraph: etree._Element) -> Iterator[Item]:
        """A paragraph, and the text boxes anchored in it (as `parsers.docx._box_items`).

        When the paragraph is just a label and its boxes hold only paragraphs, the boxes are
        its value, all lines of it (a two-line address), as a value cell would be.
        """
        text, boxes = self.paragraph(paragraph)
        if not boxes:
            yield (None, text)
            return
        yield from label_with_boxes(text, [item for box in boxes for item in self.blocks(box)])

    def rows(self, table: etree._Element) -> Iterator[etree._Element]:
        for child in table:
            if child.tag == f"{TABLE}table-row":
                yield child
            elif child.tag in (f"{TABLE}table-header-rows", f"{TABLE}table-rows",
                               f"{TABLE}table-row-group"):
                yield from self.rows(child)

    def table(self, table: etree._Element) -> Iterator[Item]:
        merged: dict[int, tuple[str, int]] = {}  # column -> (label, rows it still covers)
        yield from table_items(self._row(row, merged) for row in self.rows(table))

    def _row(self, row: etree._Element, merged: dict[int, tuple[str, int]]
             ) -> tuple[list[TableCell], CellBlocks]:
        cells, elements = self.row_cells(row, merged)
        by_column = {cell.column: element for cell, element in zip(cells, elements, strict=True)}

        def blocks(column: int) -> Iterable[Item]:
            element = by_column.get(column)
            if element is None:  # a covered cell: its text was read where it starts
                return row_items([cell for cell in cells if cell.column == column])
            return self.blocks(element)

        return cells, blocks

    def row_cells(
        self, row: etree._Element, merged: dict[int, tuple[str, int]]
    ) -> tuple[list[TableCell], list[etree._Element | None]]:
        cells: list[TableCell] = []
        elements: list[etree._Element | None] = []
        column = 0
        for cell in row:
            if cell.tag not in (f"{TABLE}table-cell", f"{TABLE}covered-table-cell"):
                continue
            lines = [value if label is None else f"{label}\t{value}"
                     for label, value in self.blocks(cell)]
            text = " ".join(line.strip() for line in lines).strip()
            carried = merged.get(column)
            if cell.tag == f"{TABLE}covered-table-cell":
                if carried is not None and carried[1] > 0 and not text:
                    text, lines = carried[0], [carried[0]]
                    merged[column] = (carried[0], carried[1] - 1)
                cells.append(TableCell(column, lines, text, False))
                elements.append(None)
                column += 1
                continue
            spanned = _count(cell.get(f"{TABLE}number-rows-spanned"))
            if spanned > 1 and text and match_label(text, whole_cell=True) is not None:
                merged[column] = (text, spanned - 1)
            else:
                merged.pop(column, None)
            nested = cell.find(f"{TABLE}table") is not None
            cells.append(TableCell(column, lines, text, nested))
            elements.append(cell)
            column += 1
        return cells, elements

    def paragraph(self, paragraph: etree._Element) -> tuple[str, list[etree._Element]]:
        """The paragraph's text, and the text boxes anchored in it.

        The walk starts afresh for every paragraph, so a fieldmark never closed cannot hide
        the rest of the document.
        """
        out: list[str] = []
        walk = ParagraphWalk()
        if paragraph.text:
            out.append(paragraph.text)
        self.inline(paragraph, out, walk, None)
        return "".join(out), walk.boxes

    def inline(self, element: etree._Element, out: list[str], walk: ParagraphWalk,
               symbols: dict[int, str] | None) -> None:
        for child in element:
            tag = child.tag
            if not isinstance(tag, str) or tag in _UNREAD:
                pass
            elif tag == f"{TEXT}s":
                out.append(" " * min(_MAX_SPACES, _count(child.get(f"{TEXT}c"))))
            elif tag == f"{TEXT}tab":
                out.append("\t")
            elif tag == f"{TEXT}line-break":
                out.append("\n")
            elif tag == f"{DRAW}control":
                state = self.controls.get(str(child.get(f"{DRAW}control", "")))
                if state is not None and not walk.hidden:
                    out.append(ON if state else OFF)
            elif tag in _BOXES:
                # A text frame holds its paragraphs in draw:text-box; a shape holds them itself.
                inner = child.find(f"{DRAW}text-box") if tag == f"{DRAW}frame" else child
                if inner is not None:
                    walk.boxes.append(inner)
            elif tag in (f"{FIELD}fieldmark", f"{FIELD}fieldmark-start"):
                self.fieldmark(child, out, walk)
            elif tag == f"{FIELD}fieldmark-end":
                if walk.fields:
                    walk.fields.pop()
            elif tag == f"{TEXT}drop-down":
                out.append(_drop_down(child))
            elif child.get(f"{TEXT}style-name") not in self.struck:
                # text:span, text:a, text:bookmark-ref, text:user-field-get, text:meta, ...
                table = self.symbols.get(str(child.get(f"{TEXT}style-name", "")), symbols)
                if child.text and not walk.hidden:
                    out.append(_glyphs(child.text, table))
                self.inline(child, out, walk, table)
            if child.tail and not walk.hidden:
                out.append(_glyphs(child.tail, symbols))

    def fieldmark(self, mark: etree._Element, out: list[str], walk: ParagraphWalk) -> None:
        """A Word form field kept by LibreOffice: a check box reads as its box, a dropdown
        as its chosen entry (the text it may show until its end is not read again)."""
        kind = mark.get(f"{FIELD}type", "")
        params: list[tuple[str, str]] = [
            (str(param.get(f"{FIELD}name", "")), str(param.get(f"{FIELD}value", "")))
            for param in mark.iter(f"{FIELD}param")]
        shown = ""
        if kind == _CHECKBOX:
            checked = [value for name, value in params if name == "Checkbox_Checked"]
            shown = (ON if checked and checked[0].lower() in _TRUE else OFF) + " "
        elif kind == _DROPDOWN:
            entries = [value for name, value in params if name == "Dropdown_ListEntry"]
            chosen = [value for name, value in params if name == "Dropdown_Selected"]
            index = _index(chosen[0]) if chosen else 0
            shown = entries[index] if 0 <= index < len(entries) else ""
        if not walk.hidden:
            out.append(shown)
        if mark.tag == f"{FIELD}fieldmark-start" and len(walk.fields) < _MAX_OPEN_FIELDS:
            walk.fields.append(kind == _DROPDOWN)


def _glyphs(text: str, table: dict[int, str] | None) -> str:
    """Text set in a symbol font, read as what it draws ("þ" in Wingdings is ☒)."""
    if table is None:
        return text
    return "".join(table.get(ord(char) & 0xFF, char) if ord(char) > 0x20 else char
                   for char in text)


def _drop_down(element: etree._Element) -> str:
    """A text:drop-down field: the text it shows, else its selected label."""
    shown = "".join(element.itertext(f"{TEXT}drop-down")).strip()
    if shown:
        return shown
    for label in element.iter(f"{TEXT}label"):
        if (label.get(f"{TEXT}current-selected") or "").lower() in _TRUE:
            return str(label.get(f"{TEXT}value", ""))
    return ""


def _index(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        return -1


def _count(raw: str | None) -> int:
    try:
        return max(1, int(raw or "1"))
    except ValueError:
        return 1
