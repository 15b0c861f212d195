"""The declaration written in the e-mail body (plain text or HTML)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from parsers.model import Declaration, missing_problems
from parsers.text import (
    MARKED_GLYPHS,
    MAX_LINES,
    UNMARKED_GLYPHS,
    Reading,
    fold,
    read_declarations,
)

# Horizontal space only: a quote prefix never reaches into the next line.
_QUOTE = re.compile(r"^[ \t]*>(?:[ \t]*>)*+ ?", re.MULTILINE)
_REPLY_ENDS = ("wrote:", "napisal:", "napisala:", "napisal(a):", "zapisal:", "zapisala:",
               "schrieb:", "a écrit :", "scritto:")
_ORIGINAL = re.compile(
    r"-{2,}\s*(?:original message|izvirno sporocilo|originalno sporocilo|prvotno sporocilo)",
)
_HEADER_BLOCK = re.compile(r"(?:from|od|sent|poslano|date|datum|to|za|subject|zadeva):\s")
_SIGNATURE = ("--", "-- ", "__")


def own_text(text: str) -> str:
    """What the sender wrote above the quoted original and the signature.

    Cut at the first quoted line ("> "), Gmail's "On ... wrote:" (or the Slovenian "Dne ...
    je napisal(a):"), Outlook's "-----Original Message-----" or its From/Sent header block,
    and the "-- " signature separator. A forwarded message is not cut here: its header block
    is, so the caller falls back to the whole text when this part holds no declaration.
    """
    lines = text.splitlines()
    kept: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if len(kept) >= MAX_LINES:
            break
        folded = fold(stripped[:80])
        if stripped.startswith(">") or line.rstrip() in _SIGNATURE or _ORIGINAL.match(folded):
            break
        if folded.endswith(_REPLY_ENDS):
            if kept and fold(kept[-1]).lstrip().startswith(("on ", "dne ", "am ", "le ")):
                kept.pop()  # the date line of a wrapped "On ... \n wrote:"
            break
        if _HEADER_BLOCK.match(folded) and index + 1 < len(lines) and _HEADER_BLOCK.match(
                fold(lines[index + 1].strip()[:80])):
            break
        kept.append(line)
    return "\n".join(kept)


def parse_body(text: str, html: str | None = None) -> Declaration | None:
    """The (first) declaration in a message body, or None unless it carries the title or
    most labels; see `parse_bodies`."""
    found = parse_bodies(text, html)
    return found[0] if found else None


def parse_bodies(text: str, html: str | None = None) -> list[Declaration]:
    """The declarations in a message body: usually one, several when the sender typed the
    form once per colleague; [] unless the body carries the title or most labels.

    Both alternatives are read when both are given (a client's plain-text rendering of an HTML
    table often loses the label/value pairing); the fuller reading wins. In each, what the
    sender wrote above a quoted original or a signature is read first; only when that holds
    no declaration is the whole text read, quotes unwrapped (a forwarded or quoted form).
    """
    readings: list[tuple[list[Reading], str]] = [(_read(text), "body")]
    if html:
        readings.append((_read(html_to_text(html)), "body-html"))
    found = [(reading, kind) for reading, kind in readings if reading[0].is_declaration]
    if not found:
        return []
    chosen, kind = min(found, key=lambda pair: (
        -len(pair[0]), len(missing_problems(pair[0][0].fields)), -len(pair[0][0].fields)))
    return [
        Declaration(
            fields=reading.fields,
            problems=missing_problems(reading.fields),
            source="body" if number == 1 else f"body ({number})",
            extra={"kind": kind},
        )
        for number, reading in enumerate(chosen, 1)
    ]


def _read(text: str) -> list[Reading]:
    own = read_declarations([(None, own_text(text))])
    if own[0].is_declaration:
        return own
    return read_declarations([(None, _QUOTE.sub("", text))])


_SKIPPED = frozenset({"script", "style", "head", "title", "noscript", "template", "xml"})
_BLOCKS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
    "pre", "hr", "section", "article", "header", "footer", "dd", "dt", "dl", "table",
    "caption", "tbody", "thead", "tfoot", "form", "fieldset", "address",
})
# What the HTML reader looks at, at most: a form is a page, not megabytes of markup, and
# Python's HTMLParser is slow (and superlinear on unclosed constructs) on hostile input.
MAX_HTML = 2**19
# Tables nested deeper than this are layout or an attack; their cells read as plain text.
MAX_TABLE_DEPTH = 8
_MARK_ONLY = re.compile(rf"\s*[{MARKED_GLYPHS}{UNMARKED_GLYPHS}]\s*")
_WHITESPACE = re.compile(r"[ \t\r\n\f\u00a0]+")


@dataclass
class _Table:
    row: list[str] | None = None  # the cells of the open row
    cell_open: bool = False


class _TextExtractor(HTMLParser):
    """Lines as a reader sees them; a table row becomes `first cell: other cells`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.buffers: list[list[str]] = [[]]  # the document, then each open table cell
        self.tables: list[_Table] = []
        self.skipping = 0
        self.too_deep = 0  # tables opened beyond MAX_TABLE_DEPTH, not yet closed

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "table":
            if len(self.tables) < MAX_TABLE_DEPTH:
                self.tables.append(_Table())
            else:
                self.too_deep += 1
                self.buffers[-1].append("\n")
        elif tag == "tr" and self.tables:
            self._close_row()
            self.tables[-1].row = []
        elif tag in ("td", "th") and self.tables:
            table = self.tables[-1]
            self._close_cell()
            if table.row is None:
                table.row = []
            self.buffers.append([])
            table.cell_open = True
        elif tag == "input":
            kind = dict(attrs).get("type", "") or ""
            if kind.lower() in ("checkbox", "radio"):
                checked = any(name == "checked" for name, _ in attrs)
                self.buffers[-1].append("☒ " if checked else "☐ ")
        elif tag in _BLOCKS:
            self.buffers[-1].append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIPPED:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "table" and self.too_deep:
            self.too_deep -= 1
            self.buffers[-1].append("\n")
        elif tag == "table" and self.tables:
            self._close_row()
            self.tables.pop()
            self.buffers[-1].append("\n")
        elif tag == "tr" and self.tables:
            self._close_row()
        elif tag in ("td", "th") and self.tables:
            self._close_cell()
        elif tag in _BLOCKS:
            self.buffers[-1].append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.buffers[-1].append(_WHITESPACE.sub(" ", data))

    def _close_cell(self) -> None:
        table = self.tables[-1]
        if table.cell_open:
            table.cell_open = False
            cell = _lines("".join(self.buffers.pop()))
            if table.row is None:
                table.row = []
            table.row.append(cell)

    def _close_row(self) -> None:
        self._close_cell()
        table = self.tables[-1]
        cells = [cell for cell in table.row or () if cell]
        table.row = None
        if not cells:
            return
        line = cells[0]
        for cell in cells[1:]:
            if _MARK_ONLY.fullmatch(line):
                line += " " + cell
            else:
                line += (" " if line.endswith(":") else ": ") + cell
        self.buffers[-1].append("\n" + line + "\n")

    def text(self) -> str:
        while self.tables:
            self._close_row()
            self.tables.pop()
        return _lines("".join(self.buffers[0]))


def _lines(text: str) -> str:
    lines = [_WHITESPACE.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


MAX_TAG = 2048  # characters of one tag; a longer one is text


def defuse_html(html: str) -> str:
    """HTML in which every "<" that HTMLParser would hold open is escaped as text.

    Python 3.11's HTMLParser rescans the rest of its input for each construct it cannot
    close (a "<" without ">", "</a", "<!", "<?", "<![CDATA[" without "]]>"): quadratic,
    a minute for a few hundred kilobytes (CVE-2025-6069). A tag is the last "<" before a
    ">", within MAX_TAG characters; a marked section must end in "]" ("<![endif]>"). All
    else is escaped, and reads as the text a browser would show. Linear.
    """
    segments = html.split(">")
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if "<" not in segment:
            continue
        cut = segment.rfind("<") if index < last else len(segment)
        tag = segment[cut:]
        if len(tag) > MAX_TAG or (tag.startswith("<![") and not tag.endswith("]")):
            cut = len(segment)
        segments[index] = segment[:cut].replace("<", "&lt;") + segment[cut:]
    return ">".join(segments)


def html_to_text(html: str) -> str:
    """The visible text of an HTML body, one line per paragraph, line break or table row."""
    extractor = _TextExtractor()
    extractor.feed(defuse_html(html[:MAX_HTML]))
    extractor.close()
    return extractor.text()
