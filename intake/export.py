"""The member list as files and as a terminal table: pure functions from rows to bytes/text.

The orchestrator reads the members from storage into `MemberRow`s; everything here only
formats them, so `intake members`, the daily digest's attachments and the tests share one
column order and one spelling of every label.

Applicant data is hostile. Spreadsheets execute formulas, so a cell that would start one is
made inert: in XLSX it is stored as a plain string (the value is unchanged); in CSV, which
carries no types, it is prefixed with an apostrophe (OWASP "CSV injection"). Terminals obey
escape sequences, so the table shows control characters as U+FFFD.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from parsers.model import FIELDS, ORGANIZATION_TYPES, ROLES


@dataclass(frozen=True, kw_only=True)
class MemberRow:
    """One current member, as stored: machine values for choices, aware times."""

    id: int
    email: str
    full_name: str
    job_title: str = ""
    phone: str = ""
    organization_type: str = ""
    organization: str = ""
    municipality: str = ""
    address: str = ""
    role: str = ""
    experience: str = ""
    interests: tuple[str, ...] = ()
    interests_other: str = ""
    consent: bool = True
    place_date: str = ""
    joined_at: datetime
    updated_at: datetime

    @classmethod
    def from_fields(
        cls,
        id: int,
        fields: Mapping[str, Any],
        *,
        joined_at: datetime,
        updated_at: datetime,
    ) -> MemberRow:
        """A row from a stored `fields` dict (the names of parsers.model.FIELDS).

        Tolerant of what a JSON column gives back: absent keys become empty, interests any
        iterable of strings.
        """

        def text(name: str) -> str:
            value = fields.get(name)
            return "" if value is None else str(value)

        interests = fields.get("interests") or ()
        return cls(
            id=id,
            email=text("email"),
            full_name=text("full_name"),
            job_title=text("job_title"),
            phone=text("phone"),
            organization_type=text("organization_type"),
            organization=text("organization"),
            municipality=text("municipality"),
            address=text("address"),
            role=text("role"),
            experience=text("experience"),
            interests=tuple(str(i) for i in interests) if not isinstance(interests, str)
            else (interests,),
            interests_other=text("interests_other"),
            consent=bool(fields.get("consent", True)),
            place_date=text("place_date"),
            joined_at=joined_at,
            updated_at=updated_at,
        )


# The machine names, in the order of the declaration, between id and the two times.
COLUMNS: tuple[str, ...] = ("id", *(spec.name for spec in FIELDS), "joined_at", "updated_at")

INTERESTS_SEPARATOR = "; "

ROLE_LABELS: Mapping[str, str] = {choice.value: choice.label for choice in ROLES}
ORGANIZATION_TYPE_LABELS: Mapping[str, str] = {c.value: c.label for c in ORGANIZATION_TYPES}

# The official labels are sentences; tables and lists need a few words.
ROLE_SHORT_LABELS: Mapping[str, str] = {
    "pr_staff": "stiki z javnostmi v občini",
    "director": "direktor/-ica občinske uprave",
    "mayor": "župan/-ja",
    "institution_pr": "stiki z javnostmi v javnem zavodu",
    "other_employee": "drug/-a zaposleni/-a",
}


def role_label(value: str, *, short: bool = False) -> str:
    """The Slovenian label of a role value; an unknown value as it is."""
    labels = ROLE_SHORT_LABELS if short else ROLE_LABELS
    return labels.get(value, value)


def _aware(moment: datetime, tz: tzinfo | None) -> datetime:
    # Storage keeps UTC; a naive value can only be UTC that lost its zone on the way.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz) if tz is not None else moment


def _values(row: MemberRow, tz: tzinfo | None) -> dict[str, Any]:
    """Column name -> a JSON-ready value: interests a list, consent a bool, times ISO 8601
    to the second."""
    values: dict[str, Any] = {}
    for name in COLUMNS:
        value = getattr(row, name)
        if isinstance(value, datetime):
            # Whole seconds: microseconds are noise to a reader of the list.
            value = _aware(value, tz).isoformat(timespec="seconds")
        elif isinstance(value, tuple):
            value = list(value)
        values[name] = value
    return values


def _cell_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return INTERESTS_SEPARATOR.join(value)
    return str(value)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A phone number may start with "+" and is harmless: digits and punctuation call nothing.
_PHONE_LIKE = re.compile(r"[+\-]?[\d\s()./+\-]*")


def neutralize_formula(text: str) -> str:
    """The text, prefixed with an apostrophe if a spreadsheet would take it for a formula."""
    if text.startswith(_FORMULA_START) and not _PHONE_LIKE.fullmatch(text):
        return "'" + text
    return text


def members_csv(rows: Iterable[MemberRow], *, tz: tzinfo | None = None) -> bytes:
    """UTF-8 with a BOM (so Excel reads č, š, ž right), CRLF lines, a header of COLUMNS.

    Choices as machine values, interests joined with "; ", times ISO 8601 with the offset
    (converted to `tz` when given), consent true/false.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        values = _values(row, tz)
        writer.writerow([neutralize_formula(_cell_text(values[name])) for name in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def members_json_lines(rows: Iterable[MemberRow], *, tz: tzinfo | None = None) -> str:
    """One JSON object per line with the keys of COLUMNS; interests a list, times ISO 8601."""
    return "".join(
        json.dumps(_values(row, tz), ensure_ascii=False) + "\n" for row in rows
    )


_XLSX_MAX_WIDTH = 50


def members_xlsx(rows: Iterable[MemberRow], *, tz: tzinfo | None = None) -> bytes:
    """A workbook with one sheet "Člani": bold frozen header of COLUMNS, fitted widths.

    Times are real Excel date-times (sortable, filterable) in `tz` (UTC when not given),
    without a zone, which Excel cannot store. Text cells are stored as strings even when
    they look like a formula.
    """
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Člani"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(name) for name in COLUMNS]
    zone = tz if tz is not None else UTC
    for row_number, row in enumerate(rows, start=2):
        for col_number, name in enumerate(COLUMNS, start=1):
            raw = getattr(row, name)
            value: Any
            if isinstance(raw, datetime):
                value = _aware(raw, zone).replace(tzinfo=None)
                shown = 19
            elif isinstance(raw, bool | int):
                value = raw
                shown = len(str(raw))
            else:
                value = INTERESTS_SEPARATOR.join(raw) if isinstance(raw, tuple) else str(raw)
                shown = len(value)
            cell = sheet.cell(row=row_number, column=col_number, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
            elif isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            widths[col_number - 1] = max(widths[col_number - 1], shown)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(width, _XLSX_MAX_WIDTH) + 2
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_text(text: str) -> str:
    """Text safe to print on a terminal or in a plain-text mail, on one line.

    Line breaks and tabs become spaces; other control characters and the bidirectional
    overrides (which can make a line read differently from what it holds) become U+FFFD.
    """
    out = []
    for char in text:
        if char in "\r\n\t":
            out.append(" ")
        elif char in _BIDI_CONTROLS or unicodedata.category(char) == "Cc":
            out.append("\ufffd")
        else:
            out.append(char)
    return "".join(out)


def shorten(text: str, width: int) -> str:
    """The text cut to `width` characters, an ellipsis marking the cut."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def format_date(day: date) -> str:
    """Slovenian date: 3. 2. 2021."""
    return f"{day.day}. {day.month}. {day.year}"


_TABLE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("Ime in priimek", 28),
    ("E-naslov", 32),
    ("Organizacija", 34),
    ("Občina", 20),
    ("Vloga", 33),
    ("Pridružen/-a", 18),
)


def members_table(rows: Sequence[MemberRow], *, tz: tzinfo | None = None) -> str:
    """A fixed-width table for the terminal, Slovenian headings and labels, one member a line."""
    if not rows:
        return "Ni članov.\n"
    lines: list[list[str]] = []
    for row in rows:
        joined = _aware(row.joined_at, tz)
        lines.append([
            row.full_name,
            row.email,
            row.organization,
            row.municipality,
            role_label(row.role, short=True),
            f"{format_date(joined)} {joined:%H:%M}",
        ])
    cells = [
        [shorten(clean_text(value), limit) for value, (_, limit) in zip(line, _TABLE_COLUMNS,
                                                                         strict=True)]
        for line in lines
    ]
    headings = [heading for heading, _ in _TABLE_COLUMNS]
    widths = [
        max(len(headings[i]), *(len(line[i]) for line in cells)) for i in range(len(headings))
    ]

    def render(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    out = [render(headings), "  ".join("-" * w for w in widths)]
    out.extend(render(line) for line in cells)
    out.append(f"Skupaj: {len(rows)}")
    return "\n".join(out) + "\n"
