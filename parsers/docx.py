"""The declaration in a Word document (DOCX), read from word/document.xml with lxml.

python-docx's `paragraph.text` skips text in content controls (w:sdt) and tracked insertions
(w:ins), and knows nothing of checkbox controls, so the main part is walked here directly,
once: every w:t in document order except deleted text, tabs and breaks as separators, and
every checkbox (w14:checkbox content control, legacy w:ffData check box, Wingdings symbol)
turned into the glyph ☒ or ☐ in front of its option, which `parsers.text` then reads like a
typed mark. Struck-through runs (w:strike, w:dstrike) are left out: a crossed-out option
is not chosen. A dropdown's chosen entry is its text (a content control shows it; a legacy
FORMDROPDOWN field keeps only an index into its list). Tables are read row by row (see
`_table_items`: merged cells, header rows and remark columns, nested and layout tables).
Text boxes are read after the paragraph that anchors them (see `_box_items`). Headers,
footers and comments are not read; bold, underline or highlight as the only sign of a choice
is not understood.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from lxml import etree

from parsers.limits import DEFAULT_LIMITS, Limits, read_member, zip_refusal
from parsers.model import Fields
from parsers.text import Item, declared_fields, fold, match_label

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_OFFICE_DOCUMENT = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
)

ON, OFF = "☒", "☐"

# Symbol fonts' private-use code points (w:sym w:char, low byte) that draw boxes and ticks.
SYMBOL_FONTS = {
    "wingdings": {0xFE: ON, 0xFD: ON, 0xFC: "✓", 0xFB: ON, 0x78: ON, 0xA8: OFF, 0x6F: OFF,
                  0x71: OFF, 0x6E: ON, 0xA1: OFF, 0xA4: ON},
    "wingdings 2": {0x52: ON, 0x54: ON, 0x53: ON, 0x51: ON, 0x50: "✓", 0xA3: OFF, 0x2A: OFF,
                    0x30: OFF},
    # Insert > Symbol in the Symbol font: √ (radical sign) and × ticked in front of an option.
    "symbol": {0xD6: "✓", 0xB4: "✗"},
}

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True,
    remove_pis=True,
)
_TRUE = ("1", "true", "on")


class DocxError(ValueError):
    """The package is not a readable Word document (the message says why, in Slovenian)."""


def parse_docx(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> Fields | None:
    """The (first) declaration's fields, or None when the document holds no declaration.

    Raises DocxError (or zipfile/lxml errors) when the bytes are not a readable DOCX;
    `parsers.document.parse_document` turns those into an unreadable declaration.
    """
    found = parse_docx_all(data, limits=limits)
    return found[0] if found else None


def parse_docx_all(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> list[Fields]:
    """The fields of each declaration: one, or several when the form is filled in once per
    colleague in the same document; [] when it holds none."""
    return declared_fields(docx_items(data, limits=limits))


def docx_items(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> list[Item]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        refusal = zip_refusal(archive, limits)
        if refusal:
            raise DocxError(refusal)
        name = _main_part(archive, limits)
        xml = read_member(archive, name, limits.max_zip_uncompressed)
    root = etree.fromstring(xml, _PARSER)
    body = root.find(f"{W}body")
    if body is None:
        raise DocxError("DOCX brez telesa dokumenta")
    return list(_blocks(body))


def _main_part(archive: zipfile.ZipFile, limits: Limits) -> str:
    names = set(archive.namelist())
    if "word/document.xml" in names:
        return "word/document.xml"
    if "_rels/.rels" in names:
        rels = etree.fromstring(read_member(archive, "_rels/.rels", 1024 * 1024), _PARSER)
        for rel in rels.iter(_REL):
            if rel.get("Type") == _OFFICE_DOCUMENT:
                target = posixpath.normpath(str(rel.get("Target", "")).lstrip("/"))
                if target in names:
                    return target
    raise DocxError("v paketu ni dokumenta Word (word/document.xml)")


# ---------------------------------------------------------------------------------------------
# Blocks: paragraphs become free lines, table rows become label/value items.


def _blocks(container: etree._Element) -> Iterator[Item]:
    for child in container:
        tag = child.tag
        if tag == f"{W}p":
            text, boxes = _paragraph(child)
            if boxes:
                yield from _box_items(text, boxes)
            else:
                yield (None, text)
        elif tag == f"{W}tbl":
            yield from _table_items(child)
        elif tag == f"{W}sdt":
            content = child.find(f"{W}sdtContent")
            if content is not None:
                yield from _blocks(content)
        elif tag in (f"{W}customXml", f"{W}ins"):
            yield from _blocks(child)


def _box_items(text: str, boxes: list[etree._Element]) -> Iterator[Item]:
    """A paragraph that anchors text boxes (w:txbxContent), and the boxes' own blocks.

    A form of floating text boxes puts the answer in a box beside its printed label: when the
    paragraph is just a label and the boxes hold only paragraphs, they are its value, all
    lines of it (a two-line address), as a value cell would be.
    """
    yield from label_with_boxes(text, [item for box in boxes for item in _blocks(box)])


def label_with_boxes(text: str, inside: list[Item]) -> Iterator[Item]:
    """A paragraph's text and the items of its text boxes (DOCX and ODT alike): the boxes'
    lines are the value when the paragraph is only a label and they hold no label cells."""
    found = match_label(text, whole_cell=True) if text.strip() else None
    if found is not None and found.name not in ("title", "consent_text") and all(
            label is None for label, _ in inside):
        yield (text, "\n".join(value for _, value in inside))
        return
    if text.strip():
        yield (None, text)
    yield from inside


def _rows(table: etree._Element) -> Iterator[etree._Element]:
    return _children(table, f"{W}tr")


def _cells(row: etree._Element) -> Iterator[etree._Element]:
    return _children(row, f"{W}tc")


def _children(parent: etree._Element, tag: str) -> Iterator[etree._Element]:
    """The `tag` children of a table or row, also those wrapped in content controls or
    custom XML (Word puts repeating sections and bound rows there)."""
    for child in parent:
        if child.tag == tag:
            yield child
        elif child.tag in (f"{W}sdt", f"{W}customXml"):
            content = child.find(f"{W}sdtContent") if child.tag == f"{W}sdt" else child
            if content is not None:
                yield from _children(content, tag)


def _cell_lines(cell: etree._Element) -> list[str]:
    lines: list[str] = []
    for label, value in _blocks(cell):
        # A table nested in a cell: its rows are option lines of the outer value.
        lines.append(value if label is None else f"{label}\t{value}")
    return lines


# A header cell over a column of remarks ("Opomba", "Navodilo"): that column is not a value.
NOTE_HEADER = re.compile(r"\s*(?:opomb\w*|navodil\w*|pojasnil\w*|komentar\w*|op\.)\s*:?\s*$")
# A remark in a third column without a header: "(obvezno)", "neobvezno polje", "*".
_NOTE_CELL = re.compile(r"\s*\(?\s*(?:ne|ni\s+)?obvezn\w*(?:\s+polje)?\s*\)?\.?\s*$|\s*\*+\s*$")


@dataclass
class TableCell:
    column: int  # the grid column it starts in
    lines: list[str]
    text: str
    nested: bool  # holds a table of its own


def _table_items(table: etree._Element) -> Iterator[Item]:
    """A table's rows as label/value items.

    Vertically merged label cells repeat their label on every row they span (Word stores the
    text once, in the first); a remarks column named in a header row is left out; a one-cell
    row (a layout table around the form) is read as the blocks it holds; a row of labels
    over a row of answers is read column by column.
    """
    merged: dict[int, str] = {}  # grid column -> the label of its open vertical merge
    yield from table_items((list(_row_cells(row, merged)), _cell_blocks(row))
                           for row in _rows(table))


def _cell_blocks(row: etree._Element) -> CellBlocks:
    return lambda column: _blocks(_find_cell(row, column))


CellBlocks = Callable[[int], Iterable[Item]]  # the blocks of a row's cell, by its column


def table_items(rows: Iterable[tuple[list[TableCell], CellBlocks]]) -> Iterator[Item]:
    """The items of a table given as its rows' cells (DOCX and ODT alike); see `_table`."""
    notes: set[int] = set()
    labels: list[TableCell] | None = None  # a row of labels, waiting for the row below
    for index, (cells, blocks) in enumerate(rows):
        if index == 0 and is_header(cells):
            notes = {cell.column for cell in cells if NOTE_HEADER.match(fold(cell.text))}
            continue
        cells = [cell for cell in cells if cell.column not in notes]
        if labels is not None:
            above, labels = labels, None
            if answer_row(cells):
                yield from column_items(above, cells)
                continue
            yield from row_items(above)
        if label_row(cells):
            labels = cells
            continue
        filled = [cell for cell in cells if cell.text or cell.nested]
        if len(filled) == 1 and len(cells) == 1:
            yield from blocks(cells[0].column)
            continue
        yield from row_items(cells)
    if labels is not None:
        yield from row_items(labels)


def _firm_label(text: str) -> bool:
    """A cell that can only be a label: "Občina" or "Kraj" may as well be an answer."""
    found = match_label(text, whole_cell=True)
    return found is not None and not found.loose and found.name not in ("title", "consent_text")


def label_row(cells: list[TableCell]) -> bool:
    """Two or more labels and nothing else: the column headings of the row below."""
    filled = [cell for cell in cells if cell.text or cell.nested]
    return len(filled) >= 2 and all(not cell.nested and _firm_label(cell.text) for cell in filled)


def answer_row(cells: list[TableCell]) -> bool:
    return any(cell.text for cell in cells) and not any(
        _firm_label(cell.text) for cell in cells if cell.text)


def column_items(labels: list[TableCell], answers: list[TableCell]) -> Iterator[Item]:
    """Each label with the answer under it (the answer cell that starts in its column)."""
    below = {cell.column: cell for cell in answers}
    for label in labels:
        if label.text:
            answer = below.get(label.column)
            yield (label.text, "\n".join(answer.lines) if answer is not None else "")


def _find_cell(row: etree._Element, column: int) -> etree._Element:
    position = 0
    for cell in _cells(row):
        if position == column:
            return cell
        position += _span(cell)
    raise ValueError(column)


def _span(cell: etree._Element) -> int:
    span = cell.find(f"{W}tcPr/{W}gridSpan")
    try:
        return max(1, min(64, int(span.get(f"{W}val", "1")))) if span is not None else 1
    except ValueError:
        return 1


def _row_cells(row: etree._Element, merged: dict[int, str]) -> Iterator[TableCell]:
    column = 0
    for cell in _cells(row):
        lines = _cell_lines(cell)
        text = " ".join(line.strip() for line in lines).strip()
        vmerge = cell.find(f"{W}tcPr/{W}vMerge")
        if vmerge is not None:
            if vmerge.get(f"{W}val") == "restart":
                found = match_label(text, whole_cell=True) if text else None
                merged[column] = text if found is not None else ""
            elif not text:
                text = merged.get(column, "")
                lines = [text] if text else []
        else:
            merged.pop(column, None)
        yield TableCell(column, lines, text, cell.find(f"{W}tbl") is not None)
        column += _span(cell)


def is_header(cells: list[TableCell]) -> bool:
    return any(NOTE_HEADER.match(fold(cell.text)) for cell in cells) and not any(
        match_label(cell.text, whole_cell=True) for cell in cells if cell.text)


def row_items(cells: list[TableCell]) -> Iterator[Item]:
    """A row as label/value items: a cell that is just a label starts a new pair.

    Handles the official two-column rows, rows of four cells (two pairs), label | value |
    remark, and rows where the label and the value share a cell (then the cell is a free
    line). The cell right after a label is its value whatever it says ("občina" is a value
    there, not the label `Občina:`); a short label further on needs its colon.
    """
    label: str | None = None
    values: list[str] = []
    after_label = False
    for cell in cells:
        text = cell.text
        found = match_label(text, whole_cell=True) if text and not after_label else None
        if found is not None and (label is not None or values) and found.loose and not (
                text.rstrip(" *").endswith(":")):
            found = None
        if found is not None and found.name != "consent_text":
            if label is not None or values:
                yield (label, "\n".join(values))
            label, values, after_label = text, [], True
            continue
        if label is not None and values and not after_label and _NOTE_CELL.match(text):
            continue
        values.extend(cell.lines)
        after_label = False
    if label is not None or values:
        yield (label, "\n".join(values))


# ---------------------------------------------------------------------------------------------
# Inline content


@dataclass
class ParagraphWalk:
    """What the walk of one paragraph carries besides its text (DOCX and ODT alike)."""

    boxes: list[etree._Element] = field(default_factory=list)  # text boxes, read afterwards
    # One entry per open field (a complex field, an ODT fieldmark): True when its displayed
    # result is not to be read (a FORMDROPDOWN, whose chosen entry was read from its list).
    fields: list[bool] = field(default_factory=list)

    @property
    def hidden(self) -> bool:
        return any(self.fields)


_MAX_OPEN_FIELDS = 64  # a paragraph that opens more fields than this is not a form


def _paragraph(paragraph: etree._Element) -> tuple[str, list[etree._Element]]:
    """The paragraph's text, and the text boxes anchored in it.

    The walk starts afresh for every paragraph, so a field never closed cannot hide the
    rest of the document.
    """
    out: list[str] = []
    walk = ParagraphWalk()
    _inline(paragraph, out, walk)
    return "".join(out), walk.boxes


_SKIP = frozenset(
    f"{W}{name}" for name in ("del", "moveFrom", "pPr", "rPr", "proofErr", "bookmarkStart",
                              "bookmarkEnd", "commentRangeStart", "commentRangeEnd",
                              "instrText", "delText", "sdtPr", "sdtEndPr", "footnoteReference",
                              "endnoteReference", "commentReference", "lastRenderedPageBreak")
)


def _inline(element: etree._Element, out: list[str], walk: ParagraphWalk) -> None:
    for child in element:
        tag = child.tag
        if tag == f"{W}t":
            if not walk.hidden:
                out.append(child.text or "")
        elif tag == f"{W}r":
            if not _struck(child):
                table = _symbol_font(child)
                if table is None:
                    _inline(child, out, walk)
                else:
                    # A box typed in a symbol font ("þ" in Wingdings draws ☒): read the box.
                    typed: list[str] = []
                    _inline(child, typed, walk)
                    out.append("".join(table.get(ord(c) & 0xFF, c) for c in "".join(typed)))
        elif tag in _SKIP or not isinstance(tag, str):
            continue
        elif tag == f"{W}tab" or tag == f"{W}ptab":
            out.append("\t")
        elif tag in (f"{W}br", f"{W}cr"):
            out.append("\n")
        elif tag == f"{W}noBreakHyphen":
            out.append("-")
        elif tag == f"{W}sym":
            out.append(_symbol(child))
        elif tag == f"{W}fldChar":
            _field_char(child, out, walk)
        elif tag == f"{W}sdt":
            _content_control(child, out, walk)
        elif tag == f"{W}txbxContent":
            walk.boxes.append(child)
        elif tag == f"{MC}AlternateContent":
            # Word writes a text box twice, as DrawingML (mc:Choice) and as VML for older
            # readers (mc:Fallback): read one of them, or every answer would appear twice.
            choice = child.find(f"{MC}Choice")
            if choice is None:
                choice = child.find(f"{MC}Fallback")
            if choice is not None:
                _inline(choice, out, walk)
        elif tag == f"{W}p":  # paragraphs inside an inline container (rare)
            if out:
                out.append("\n")
            _inline(child, out, walk)
        else:
            # w:hyperlink, w:ins, w:smartTag, w:customXml, w:fldSimple, w:moveTo, w:dir, ...
            _inline(child, out, walk)


def _symbol_font(run: etree._Element) -> dict[int, str] | None:
    fonts = run.find(f"{W}rPr/{W}rFonts")
    if fonts is None:
        return None
    for attribute in ("ascii", "hAnsi", "cs"):
        table = SYMBOL_FONTS.get((fonts.get(f"{W}{attribute}") or "").lower())
        if table is not None:
            return table
    return None


def _struck(run: etree._Element) -> bool:
    """Struck-through text is an option the applicant crossed out: it is not there."""
    properties = run.find(f"{W}rPr")
    if properties is None:
        return False
    for name in ("strike", "dstrike"):
        flag = properties.find(f"{W}{name}")
        if flag is not None and flag.get(f"{W}val", "1").lower() not in ("0", "false", "off"):
            return True
    return False


def _content_control(sdt: etree._Element, out: list[str], walk: ParagraphWalk) -> None:
    properties = sdt.find(f"{W}sdtPr")
    if properties is not None:
        checkbox = properties.find(f"{W14}checkbox")
        if checkbox is not None:
            checked = checkbox.find(f"{W14}checked")
            value = checked.get(f"{W14}val", "0") if checked is not None else "0"
            out.append(ON if value.lower() in _TRUE else OFF)
            return
        if properties.find(f"{W}showingPlcHdr") is not None:
            return  # the grey "click here to enter text" prompt, not an answer
    content = sdt.find(f"{W}sdtContent")
    if content is not None:
        _inline(content, out, walk)


def _field_char(fld_char: etree._Element, out: list[str], walk: ParagraphWalk) -> None:
    kind = fld_char.get(f"{W}fldCharType")
    if kind == "end":
        if walk.fields:
            walk.fields.pop()
        return
    if kind != "begin":
        return
    dropdown = fld_char.find(f"{W}ffData/{W}ddList")
    hidden = walk.hidden
    if len(walk.fields) < _MAX_OPEN_FIELDS:
        walk.fields.append(dropdown is not None)
    if not hidden:
        out.append(_legacy_checkbox(fld_char) if dropdown is None else _dropdown_entry(dropdown))


def _dropdown_entry(dropdown: etree._Element) -> str:
    """The entry a legacy dropdown form field shows: w:result, else w:default, else the first.

    Word keeps no displayed text for FORMDROPDOWN, only the index into its w:listEntry list.
    """
    entries = [str(entry.get(f"{W}val") or "") for entry in dropdown.findall(f"{W}listEntry")]
    index = 0
    for name in ("result", "default"):
        chosen = dropdown.find(f"{W}{name}")
        if chosen is not None:
            try:
                index = int(chosen.get(f"{W}val") or "0")
            except ValueError:
                index = 0
            break
    return entries[index] if 0 <= index < len(entries) else ""


def _legacy_checkbox(fld_char: etree._Element) -> str:
    box = fld_char.find(f"{W}ffData/{W}checkBox")
    if box is None:
        return ""
    state = box.find(f"{W}checked")
    if state is None:
        state = box.find(f"{W}default")
        if state is None:
            return OFF + " "
        return (ON if state.get(f"{W}val", "0").lower() in _TRUE else OFF) + " "
    return (ON if state.get(f"{W}val", "1").lower() in _TRUE else OFF) + " "


def _symbol(sym: etree._Element) -> str:
    font = (sym.get(f"{W}font") or "").lower()
    try:
        code = int(sym.get(f"{W}char") or "", 16)
    except ValueError:
        return ""
    table = SYMBOL_FONTS.get(font)
    if table is None:
        return chr(code) if code < 0xE000 or code > 0xF8FF else ""
    return table.get(code & 0xFF, "")
