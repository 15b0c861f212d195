"""The declaration in an OpenDocument text (ODT, LibreOffice's own format).

content.xml is walked like the DOCX body (parsers.docx): paragraphs, headings and list items
become free lines, table rows label/value items through the same row rules
(`parsers.docx.row_items`). Struck-through text (an automatic style with a line-through) is
left out, as a crossed-out option; a form checkbox control becomes ☒ or ☐. Tracked
deletions, notes, annotations and frames are not read.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from lxml import etree

from parsers.docx import NOTE_HEADER, TableCell, is_header, row_items
from parsers.limits import DEFAULT_LIMITS, Limits, read_member, zip_refusal
from parsers.model import Fields
from parsers.text import Item, fold, match_label, read_items

OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
FO = "{urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0}"
FORM = "{urn:oasis:names:tc:opendocument:xmlns:form:1.0}"
DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"

ON, OFF = "☒", "☐"
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True,
    remove_pis=True,
)
_UNREAD = frozenset({f"{TEXT}note", f"{OFFICE}annotation", f"{DRAW}frame",
                     f"{TEXT}tracked-changes", f"{OFFICE}annotation-end"})
_MAX_SPACES = 100  # text:s text:c="…": a count, not a reason to allocate megabytes


class OdtError(ValueError):
    """The package is not a readable OpenDocument text (the message says why, in Slovenian)."""


def parse_odt(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> Fields | None:
    """The declaration's fields, or None when the document holds no declaration.

    Raises OdtError (or zipfile/lxml errors) when the bytes are not a readable ODT.
    """
    reading = read_items(odt_items(data, limits=limits))
    return reading.fields if reading.is_declaration else None


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
    reader = _Reader(_struck_styles(root), _checkboxes(text))
    return list(reader.blocks(text))


def _struck_styles(root: etree._Element) -> frozenset[str]:
    struck: set[str] = set()
    styles = root.find(f"{OFFICE}automatic-styles")
    if styles is None:
        return frozenset()
    for style in styles.iter(f"{STYLE}style"):
        properties = style.find(f"{STYLE}text-properties")
        if properties is None:
            continue
        line = properties.get(f"{STYLE}text-line-through-style", "none")
        kind = properties.get(f"{STYLE}text-line-through-type", "")
        if line != "none" or kind not in ("", "none"):
            struck.add(str(style.get(f"{STYLE}name", "")))
    return frozenset(struck)


def _checkboxes(text: etree._Element) -> dict[str, bool]:
    states: dict[str, bool] = {}
    forms = text.find(f"{OFFICE}forms")
    if forms is None:
        return states
    for box in forms.iter(f"{FORM}checkbox"):
        key = box.get(XML_ID) or box.get(f"{FORM}id") or ""
        state = box.get(f"{FORM}current-state") or box.get(f"{FORM}state") or ""
        if key:
            states[key] = state == "checked"
    return states


class _Reader:
    def __init__(self, struck: frozenset[str], boxes: dict[str, bool]) -> None:
        self.struck = struck
        self.boxes = boxes

    def blocks(self, container: etree._Element) -> Iterator[Item]:
        for child in container:
            tag = child.tag
            if tag in (f"{TEXT}p", f"{TEXT}h"):
                if child.get(f"{TEXT}style-name") not in self.struck:
                    yield (None, self.paragraph(child))
            elif tag == f"{TABLE}table":
                yield from self.table(child)
            elif tag in (f"{TEXT}list", f"{TEXT}list-item", f"{TEXT}list-header",
                         f"{TEXT}section", f"{TEXT}index-body"):
                yield from self.blocks(child)

    def rows(self, table: etree._Element) -> Iterator[etree._Element]:
        for child in table:
            if child.tag == f"{TABLE}table-row":
                yield child
            elif child.tag in (f"{TABLE}table-header-rows", f"{TABLE}table-rows",
                               f"{TABLE}table-row-group"):
                yield from self.rows(child)

    def table(self, table: etree._Element) -> Iterator[Item]:
        merged: dict[int, tuple[str, int]] = {}  # column -> (label, rows it still covers)
        notes: set[int] = set()
        for index, row in enumerate(self.rows(table)):
            cells, elements = self.row_cells(row, merged)
            if index == 0 and is_header(cells):
                notes = {cell.column for cell in cells if NOTE_HEADER.match(fold(cell.text))}
                continue
            kept = [(cell, element) for cell, element in zip(cells, elements, strict=True)
                    if cell.column not in notes]
            filled = [cell for cell, _ in kept if cell.text or cell.nested]
            if len(filled) == 1 and len(kept) == 1 and kept[0][1] is not None:
                yield from self.blocks(kept[0][1])
                continue
            yield from row_items([cell for cell, _ in kept])

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

    def paragraph(self, paragraph: etree._Element) -> str:
        out: list[str] = []
        if paragraph.text:
            out.append(paragraph.text)
        self.inline(paragraph, out)
        return "".join(out)

    def inline(self, element: etree._Element, out: list[str]) -> None:
        for child in element:
            tag = child.tag
            if not isinstance(tag, str):
                pass
            elif tag == f"{TEXT}s":
                out.append(" " * min(_MAX_SPACES, _count(child.get(f"{TEXT}c"))))
            elif tag == f"{TEXT}tab":
                out.append("\t")
            elif tag == f"{TEXT}line-break":
                out.append("\n")
            elif tag == f"{DRAW}control":
                state = self.boxes.get(str(child.get(f"{DRAW}control", "")))
                if state is not None:
                    out.append(ON if state else OFF)
            elif tag not in _UNREAD and child.get(f"{TEXT}style-name") not in self.struck:
                # text:span, text:a, text:bookmark-ref, text:change-start, text:meta, ...
                if child.text:
                    out.append(child.text)
                self.inline(child, out)
            if child.tail:
                out.append(child.tail)


def _count(raw: str | None) -> int:
    try:
        return max(1, int(raw or "1"))
    except ValueError:
        return 1
