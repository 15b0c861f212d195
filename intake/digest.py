"""The coordinator's daily digest: pure rendering from plain values to text, HTML and a message.

The orchestrator queries storage for one day of the campaign's time zone and hands the result
over as a `DigestData`; this module decides nothing about which rows belong to the day, reads
no clock and no config, and does no I/O. Whether an empty day is sent at all is the caller's
choice (`digest.skip_empty`); `is_empty` tells it.

Everything an applicant wrote is hostile: the HTML escapes every value, the text part shows
control characters as U+FFFD (a name must not be able to move the cursor of a terminal, or
start a new line that looks like a command).
"""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from intake.export import (
    MemberRow,
    clean_text,
    format_date,
    members_csv,
    members_xlsx,
    role_label,
    shorten,
)
from parsers.model import FIELDS_BY_NAME, MISSING, ROLES

__all__ = [
    "DigestData",
    "FailedReply",
    "SubmissionRow",
    "build_digest",
    "is_empty",
    "plural",
    "reason_text",
    "render_html",
    "render_text",
    "subject",
]


@dataclass(frozen=True, kw_only=True)
class SubmissionRow:
    """One declaration that did not simply become a member, with what the coordinator needs."""

    id: int  # the declaration's id, as `intake review approve ID` takes it
    message_id: str
    sender: str
    received_at: datetime
    status: str
    full_name: str = ""
    organization: str = ""
    reasons: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class FailedReply:
    recipient: str
    subject: str
    error: str


@dataclass(frozen=True, kw_only=True)
class DigestData:
    """One day of the campaign's time zone, and the call so far, as the orchestrator found it.

    `members_per_day` may leave out days without members: the chart fills the gaps with 0.
    `open_reviews`, when given, is every declaration still waiting for a decision (not only
    this day's), shown so that an old one is not forgotten.
    """

    day: date
    timezone: tzinfo
    new_members: Sequence[MemberRow] = ()
    updated_members: Sequence[MemberRow] = ()
    needs_review: Sequence[SubmissionRow] = ()
    incomplete: Sequence[SubmissionRow] = ()
    rejected: Sequence[SubmissionRow] = ()
    ignored_count: int = 0
    failed_replies: Sequence[FailedReply] = ()
    all_members: Sequence[MemberRow] = ()
    members_per_day: Sequence[tuple[date, int]] = ()
    open_reviews: int | None = None
    municipalities_total: int = 212


# --- words ---------------------------------------------------------------------------------


def plural(n: int, one: str, two: str, few: str, many: str) -> str:
    """The Slovenian form for n: by the last two digits, 1 / 2 (the dual) / 3-4 / the rest.

    plural(1, "nov član", "nova člana", "novi člani", "novih članov") == "nov član";
    101 takes the singular, 102 the dual, 0, 5-20 and 111-114 the genitive plural.
    """
    rest = abs(n) % 100
    if rest == 1:
        return one
    if rest == 2:
        return two
    if rest in (3, 4):
        return few
    return many


def _count(n: int, one: str, two: str, few: str, many: str) -> str:
    return f"{n} {plural(n, one, two, few, many)}"


def _new_members(n: int) -> str:
    return _count(n, "nov član", "nova člana", "novi člani", "novih članov")


def _members(n: int) -> str:
    return _count(n, "član", "člana", "člani", "članov")


def _updates(n: int) -> str:
    return _count(n, "posodobitev", "posodobitvi", "posodobitve", "posodobitev")


def _incomplete(n: int) -> str:
    return _count(n, "nepopolna prijava", "nepopolni prijavi", "nepopolne prijave",
                  "nepopolnih prijav")


def _rejected(n: int) -> str:
    return _count(n, "zavrnjena prijava", "zavrnjeni prijavi", "zavrnjene prijave",
                  "zavrnjenih prijav")


def _ignored(n: int) -> str:
    return _count(n, "prezrto sporočilo", "prezrti sporočili", "prezrta sporočila",
                  "prezrtih sporočil")


def _failed(n: int) -> str:
    return _count(n, "neposlan odgovor", "neposlana odgovora", "neposlani odgovori",
                  "neposlanih odgovorov")


_REASONS: dict[str, str] = {
    "no_declaration": "v sporočilu ni izjave (ne v prilogi ne v besedilu)",
    "unreadable_attachment": "priloge ni bilo mogoče prebrati",
    "unknown_municipality": "občine ni bilo mogoče prepoznati",
    "role_mismatch": "vloga se ne ujema z vrsto organizacije",
    "not_eligible": "organizacija ni občina ali občinski javni zavod",
    "late": "prejeto po roku za prijavo",
    "closed": "prejeto po zaprtju razpisa",
    "updated": "nadomešča prejšnjo izjavo istega člana",
    "auto_submitted": "samodejno sporočilo",
    "not_application": "sporočilo ni prijava",
    "internal_error": "napaka pri obdelavi",
}


def reason_text(code: str) -> str:
    """A reason code in the coordinator's words; a code this table does not know, as it is."""
    if code == MISSING + "consent":
        return "ni soglasja za obdelavo osebnih podatkov"
    if code.startswith(MISSING):
        name = code[len(MISSING):]
        spec = FIELDS_BY_NAME.get(name)
        return f"manjka: {spec.label if spec else name}"
    return _REASONS.get(code, code)


_WEEKDAYS_ACCUSATIVE = ("ponedeljek", "torek", "sredo", "četrtek", "petek", "soboto", "nedeljo")

APPROVE = "intake review approve {id}"
REJECT = 'intake review reject {id} --reason "..."'


def _day_title(day: date) -> str:
    return f"Povzetek za {_WEEKDAYS_ACCUSATIVE[day.weekday()]}, {format_date(day)}"


def _short_date(day: date) -> str:
    return f"{day.day}. {day.month}."


def _when(moment: datetime, data: DigestData) -> str:
    local = moment.astimezone(data.timezone)
    if local.date() == data.day:
        return f"ob {local:%H:%M}"
    return f"{format_date(local)} ob {local:%H:%M}"


# --- what the day holds ----------------------------------------------------------------------


def is_empty(data: DigestData) -> bool:
    """Whether nothing about the call happened that day.

    Ignored messages do not count: they are the coordinator's ordinary mail, left untouched.
    """
    return not (
        data.new_members
        or data.updated_members
        or data.needs_review
        or data.incomplete
        or data.rejected
        or data.failed_replies
    )


def _older_reviews(data: DigestData) -> int:
    """Declarations from earlier days still waiting for the coordinator's decision."""
    return max(0, (data.open_reviews or 0) - len(data.needs_review))


def _day_parts(data: DigestData) -> tuple[list[str], list[str]]:
    """The day's nonzero counts: (what changed or needs the coordinator, what was answered)."""
    attention = []
    if data.new_members:
        attention.append(_new_members(len(data.new_members)))
    if data.updated_members:
        attention.append(_updates(len(data.updated_members)))
    if data.needs_review:
        attention.append(f"{len(data.needs_review)} v pregled")
    if data.failed_replies:
        attention.append(_failed(len(data.failed_replies)))
    answered = []
    if data.incomplete:
        answered.append(_incomplete(len(data.incomplete)))
    if data.rejected:
        answered.append(_rejected(len(data.rejected)))
    return attention, answered


def subject(data: DigestData) -> str:
    """E.g. "Mreža komunikatorjev: povzetek za 3. 2. 2021 (2 nova člana, 1 v pregled)".

    The subject names what changed or waits for the coordinator; incomplete and rejected
    applications, already answered, only when nothing else happened.
    """
    attention, answered = _day_parts(data)
    parts = attention or answered or ["nič novega"]
    return f"Mreža komunikatorjev: povzetek za {format_date(data.day)} ({', '.join(parts)})"


def _role_counts(members: Sequence[MemberRow]) -> list[tuple[str, int]]:
    """(role value, members) in the order of the declaration, unknown roles after."""
    counts = Counter(member.role for member in members)
    ordered = [(choice.value, counts.pop(choice.value, 0)) for choice in ROLES]
    ordered.extend(sorted(counts.items()))
    return ordered


def _municipality_count(members: Sequence[MemberRow]) -> int:
    return len({m.municipality.strip().casefold() for m in members if m.municipality.strip()})


def _series(data: DigestData) -> list[tuple[date, int]]:
    """Members per day, every day from the first to the last, gaps as 0."""
    if not data.members_per_day:
        return []
    counts: Counter[date] = Counter()
    for day, n in data.members_per_day:
        counts[day] += n
    first, last = min(counts), max(counts)
    return [
        (first + timedelta(days=i), counts.get(first + timedelta(days=i), 0))
        for i in range((last - first).days + 1)
    ]


def _who(row: SubmissionRow) -> str:
    name = clean_text(row.full_name.strip())
    sender = clean_text(row.sender)
    return f"{name} <{sender}>" if name else f"<{sender}>"


def _reasons_line(reasons: Sequence[str]) -> str:
    return "; ".join(f"{reason_text(r)} [{r}]" for r in reasons) or "(razlog ni zapisan)"


_DETAIL_WIDTH = 400


# --- text ------------------------------------------------------------------------------------


def render_text(data: DigestData) -> str:
    """The plain-text part: the same sections as the HTML, readable in any mail client."""
    t = clean_text
    out = [f"Mreža komunikatorjev – {_day_title(data.day).lower()}", ""]
    total = len(data.all_members)
    municipalities = _municipality_count(data.all_members)
    if is_empty(data):
        out.append("Ta dan ni bilo nič novega: nobene nove prijave.")
        if data.ignored_count:
            out.append(f"Prezrtih sporočil (niso prijave): {data.ignored_count}.")
        if data.open_reviews:
            out.append(f"Še vedno čaka na pregled: {data.open_reviews} (intake review list).")
        out.append(
            f"Doslej: {_members(total)} iz {municipalities} od "
            f"{data.municipalities_total} občin."
        )
        return "\n".join(out) + "\n"

    attention, answered = _day_parts(data)
    parts = attention + answered
    if data.ignored_count:
        parts.append(_ignored(data.ignored_count))
    out.append(f"Ta dan: {', '.join(parts)}.")
    older = _older_reviews(data)
    if older:
        out.append(f"Iz prejšnjih dni še čaka na vašo odločitev: {older} (intake review list).")
    out.append("")

    if data.needs_review:
        out.append(f"ČAKA NA VAŠO ODLOČITEV ({len(data.needs_review)})")
        for row in data.needs_review:
            org = f", {t(row.organization)}" if row.organization.strip() else ""
            out.append(f"- #{row.id} {_who(row)}{org}, prejeto {_when(row.received_at, data)}")
            out.append(f"  razlogi: {_reasons_line(row.reasons)}")
            if row.detail.strip():
                out.append(f"  podrobnosti: {shorten(t(row.detail.strip()), _DETAIL_WIDTH)}")
            out.append(f"  odobri:  {APPROVE.format(id=row.id)}")
            out.append(f"  zavrni:  {REJECT.format(id=row.id)}")
        out.append("")
    if data.failed_replies:
        # An applicant who got no answer needs the coordinator as much as a review does.
        out.append(f"NEPOSLANI ODGOVORI ({len(data.failed_replies)})")
        for failed in data.failed_replies:
            out.append(f"- {t(failed.recipient)}: »{t(failed.subject)}«")
            out.append(f"  napaka: {shorten(t(failed.error), _DETAIL_WIDTH)}")
        out.append("")
    if data.new_members:
        out.append(f"NOVI ČLANI ({len(data.new_members)})")
        out += _member_lines(data.new_members)
        out.append("")
    if data.updated_members:
        out.append(f"POSODOBLJENI PODATKI ČLANOV ({len(data.updated_members)})")
        out += _member_lines(data.updated_members)
        out.append("")
    for title, rows in (("NEPOPOLNE PRIJAVE", data.incomplete),
                        ("ZAVRNJENE PRIJAVE", data.rejected)):
        if not rows:
            continue
        out.append(f"{title} ({len(rows)})")
        for row in rows:
            out.append(f"- {_who(row)}, prejeto {_when(row.received_at, data)}")
            out.append(f"  razlogi: {_reasons_line(row.reasons)}")
            if row.detail.strip():
                out.append(f"  podrobnosti: {shorten(t(row.detail.strip()), _DETAIL_WIDTH)}")
        out.append("")
    if data.ignored_count:
        out.append(
            f"PREZRTA SPOROČILA: {data.ignored_count} (samodejna sporočila in pošta, ki ni "
            "prijava; ostala so nedotaknjena)"
        )
        out.append("")
    out += _text_so_far(data)
    out += ["", "Priloge: members.csv in members.xlsx – vsi člani do zdaj."]
    return "\n".join(out) + "\n"


def _member_lines(members: Sequence[MemberRow]) -> list[str]:
    lines = []
    for m in members:
        t = clean_text
        lines.append(f"- {t(m.full_name)} <{t(m.email)}>")
        place = t(m.organization)
        # An obcina's municipality is the organisation itself: say it once.
        if m.municipality.strip() and m.municipality.casefold() not in m.organization.casefold():
            place += f", občina {t(m.municipality)}"
        lines.append(f"  {place}")
        lines.append(f"  vloga: {t(role_label(m.role, short=True))}")
    return lines


_TEXT_BAR = 30


def _text_so_far(data: DigestData) -> list[str]:
    total = len(data.all_members)
    municipalities = _municipality_count(data.all_members)
    share = 100 * municipalities / data.municipalities_total if data.municipalities_total else 0
    out = [
        "RAZPIS DOSLEJ",
        f"Članov: {total}",
        f"Občine z vsaj enim članom: {municipalities} od {data.municipalities_total} "
        f"({share:.0f} %)",
    ]
    if data.open_reviews is not None:
        out.append(f"Vseh odprtih v pregledu: {data.open_reviews}")
    out.append("Po vlogah:")
    for value, n in _role_counts(data.all_members):
        out.append(f"  {n:>4}  {clean_text(role_label(value, short=True))}")
    series = _series(data)
    if series:
        top = max(n for _, n in series) or 1
        out.append("Novi člani po dnevih:")
        for day, n in series:
            bar = "█" * math.ceil(_TEXT_BAR * n / top) if n else ""
            mark = " ←" if day == data.day else ""
            out.append(f"  {_short_date(day):>7} {n:>4} {bar}{mark}".rstrip())
    return out


# --- HTML ------------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


_FONT = "font-family:'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;"
_INK = "#1d2733"
_MUTED = "#5b6878"
_ACCENT = "#1f5f99"
_TH = (
    "text-align:left;padding:6px 10px;border-bottom:2px solid #d5dce4;font-size:12px;"
    f"color:{_MUTED};font-weight:600;text-transform:uppercase;letter-spacing:.03em;"
)
_TD = (
    "padding:7px 10px;border-bottom:1px solid #e8edf2;vertical-align:top;font-size:14px;"
    "overflow-wrap:anywhere;"
)
_H2 = f"font-size:17px;margin:28px 0 10px;color:{_INK};"
_CODE = (
    "display:block;font-family:Consolas,'DejaVu Sans Mono',monospace;font-size:13px;"
    "background:#f2f4f7;border:1px solid #dfe4ea;border-radius:4px;padding:5px 8px;"
    "margin:4px 0;white-space:pre-wrap;word-break:break-all;"
)


def _table(headings: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table; the cells are HTML already (escaped by the caller)."""
    head = "".join(f'<th style="{_TH}">{_e(h)}</th>' for h in headings)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_TD}">{cell}</td>' for cell in row) + "</tr>"
        for row in rows
    )
    return (
        '<table role="presentation" cellspacing="0" cellpadding="0" '
        'style="border-collapse:collapse;width:100%;">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _h2(title: str, n: int | None = None) -> str:
    count = (
        f' <span style="color:{_MUTED};font-weight:400;">({n})</span>' if n is not None else ""
    )
    return f'<h2 style="{_H2}">{_e(title)}{count}</h2>'


def _member_table(members: Sequence[MemberRow]) -> str:
    return _table(
        ("Ime in priimek", "Organizacija", "Občina", "Vloga"),
        [
            (
                f"<strong>{_e(m.full_name)}</strong><br>"
                f'<span style="color:{_MUTED};font-size:13px;">{_e(m.email)}</span>',
                _e(m.organization),
                _e(m.municipality),
                _e(role_label(m.role, short=True)),
            )
            for m in members
        ],
    )


def _reasons_html(reasons: Sequence[str]) -> str:
    if not reasons:
        return f'<span style="color:{_MUTED};">razlog ni zapisan</span>'
    return "<br>".join(
        f'{_e(reason_text(r))} <code style="color:{_MUTED};font-size:12px;">{_e(r)}</code>'
        for r in reasons
    )


def _tiles(data: DigestData) -> str:
    tiles = [
        ("novi člani", len(data.new_members), _ACCENT),
        ("v pregled", len(data.needs_review), "#b26a00"),
        ("nepopolne", len(data.incomplete), _MUTED),
        ("zavrnjene", len(data.rejected), _MUTED),
        ("prezrta sporočila", data.ignored_count, _MUTED),
    ]
    if data.failed_replies:
        tiles.append(("neposlani odgovori", len(data.failed_replies), "#b3261e"))
    cells = "".join(
        f'<td style="padding:10px 4px;background:#f5f7fa;border:4px solid #fff;'
        f'text-align:center;">'
        f'<div style="font-size:26px;font-weight:700;color:{color};">{n}</div>'
        f'<div style="font-size:12px;color:{_MUTED};overflow-wrap:anywhere;">'
        f"{_e(label)}</div></td>"
        for label, n, color in tiles
    )
    return (
        '<table role="presentation" cellspacing="0" cellpadding="0" '
        f'style="border-collapse:collapse;width:100%;margin:8px 0 4px;table-layout:fixed;">'
        f"<tr>{cells}</tr></table>"
    )


def _review_card(row: SubmissionRow, data: DigestData) -> str:
    org = f" · {_e(row.organization)}" if row.organization.strip() else ""
    name = _e(row.full_name) if row.full_name.strip() else "(brez imena)"
    detail = (
        f'<div style="font-size:13px;color:{_MUTED};margin:4px 0;">'
        f"{_e(shorten(row.detail.strip(), _DETAIL_WIDTH))}</div>"
        if row.detail.strip() else ""
    )
    return (
        '<div style="border-left:4px solid #e0a100;background:#fffaf0;padding:10px 14px;'
        'margin:0 0 12px;border-radius:0 6px 6px 0;">'
        f'<div style="font-size:14px;"><strong>#{row.id} {name}</strong>'
        f' &lt;{_e(row.sender)}&gt;{org}'
        f' <span style="color:{_MUTED};">· prejeto {_e(_when(row.received_at, data))}</span>'
        "</div>"
        f'<div style="font-size:14px;margin:6px 0;">{_reasons_html(row.reasons)}</div>'
        f"{detail}"
        f'<code style="{_CODE}">{_e(APPROVE.format(id=row.id))}</code>'
        f'<code style="{_CODE}">{_e(REJECT.format(id=row.id))}</code>'
        "</div>"
    )


def _submission_table(rows: Sequence[SubmissionRow], data: DigestData) -> str:
    return _table(
        ("Kdo", "Prejeto", "Zakaj"),
        [
            (
                (f"<strong>{_e(r.full_name)}</strong><br>" if r.full_name.strip() else "")
                + f'<span style="color:{_MUTED};font-size:13px;">{_e(r.sender)}</span>',
                _e(_when(r.received_at, data)),
                _reasons_html(r.reasons)
                + (
                    f'<div style="font-size:13px;color:{_MUTED};margin-top:4px;">'
                    f"{_e(shorten(r.detail.strip(), _DETAIL_WIDTH))}</div>"
                    if r.detail.strip() else ""
                ),
            )
            for r in rows
        ],
    )


def chart_svg(series: Sequence[tuple[date, int]], *, highlight: date | None = None) -> str:
    """An inline SVG bar chart of members per day: one `rect class="bar"` a day, axes labelled."""
    width, height = 680, 230
    left, right, top, bottom = 44, 12, 22, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((n for _, n in series), default=0)
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 10**9)
                if max(peak, 1) / s <= 4)
    y_max = max(step, math.ceil(max(peak, 1) / step) * step)
    slot = plot_w / max(len(series), 1)
    bar_w = max(min(slot * 0.68, 44), 2)
    label_every = max(1, math.ceil(len(series) / 16))
    labelled = {i for i in range(len(series)) if i % label_every == 0}
    days = [day for day, _ in series]
    if highlight in days:
        # The day of the digest is always labelled; its neighbours give way, or they overlap.
        at = days.index(highlight)
        if label_every > 1:
            labelled -= {at - 1, at + 1}
        labelled.add(at)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        'aria-label="Novi člani po dnevih" '
        f'style="max-width:100%;height:auto;{_FONT}">',
        "<title>Novi člani po dnevih</title>",
    ]
    for tick in range(0, y_max + 1, step):
        y = top + plot_h - plot_h * tick / y_max
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="{"#9aa7b4" if tick == 0 else "#e3e8ee"}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{_MUTED}">{tick}</text>'
        )
    for index, (day, n) in enumerate(series):
        x = left + slot * index + (slot - bar_w) / 2
        h = plot_h * n / y_max
        y = top + plot_h - h
        color = "#e0a100" if day == highlight else _ACCENT
        parts.append(
            f'<rect class="bar" data-day="{day.isoformat()}" data-count="{n}" '
            f'x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" rx="2" '
            f'fill="{color}"><title>{_e(format_date(day))}: {n}</title></rect>'
        )
        cx = x + bar_w / 2
        if n and len(series) <= 31:
            parts.append(
                f'<text x="{cx:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="11" '
                f'fill="{_INK}">{n}</text>'
            )
        if index in labelled:
            parts.append(
                f'<text x="{cx:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                f'font-size="11" fill="{_MUTED}">{_e(_short_date(day))}</text>'
            )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
        f'font-size="12" fill="{_MUTED}">dan</text>'
        f'<text x="12" y="{top + plot_h / 2:.1f}" text-anchor="middle" font-size="12" '
        f'fill="{_MUTED}" transform="rotate(-90 12 {top + plot_h / 2:.1f})">novi člani</text>'
        "</svg>"
    )
    return "".join(parts)


def _so_far_html(data: DigestData) -> str:
    total = len(data.all_members)
    municipalities = _municipality_count(data.all_members)
    share = municipalities / data.municipalities_total if data.municipalities_total else 0
    open_reviews = (
        f"<br>Vseh odprtih v pregledu: <strong>{data.open_reviews}</strong>"
        if data.open_reviews is not None else ""
    )
    progress = (
        '<div style="background:#e8edf2;border-radius:4px;height:10px;margin:6px 0 2px;">'
        f'<div style="background:{_ACCENT};width:{min(share, 1) * 100:.1f}%;height:10px;'
        'border-radius:4px;"></div></div>'
    )
    roles = _table(
        ("Vloga", "Članov"),
        [
            (_e(role_label(value)), f'<div style="text-align:right;">{n}</div>')
            for value, n in _role_counts(data.all_members)
        ],
    )
    series = _series(data)
    chart = (
        f'<h3 style="font-size:15px;margin:22px 0 6px;">Novi člani po dnevih</h3>'
        f"{chart_svg(series, highlight=data.day)}"
        f'<p style="font-size:12px;color:{_MUTED};margin:2px 0 0;">Oranžno: ta dan.</p>'
        if series else ""
    )
    return (
        _h2("Razpis doslej")
        + f'<p style="font-size:14px;margin:0 0 10px;">Članov: <strong>{total}</strong>'
        + open_reviews
        + "</p>"
        + '<p style="font-size:14px;margin:0;">Občine z vsaj enim članom: '
        + f"<strong>{municipalities}</strong> od {data.municipalities_total} "
        + f"({share * 100:.0f} %)</p>"
        + progress
        + '<h3 style="font-size:15px;margin:22px 0 6px;">Po vlogah</h3>'
        + roles
        + chart
    )


def render_html(data: DigestData) -> str:
    """A self-contained HTML page: inline CSS and SVG, no external resources, every value
    escaped."""
    body: list[str] = [
        f'<p style="margin:0;font-size:13px;color:{_MUTED};">Mreža komunikatorjev v občinah '
        "in občinskih javnih zavodih</p>",
        f'<h1 style="font-size:23px;margin:4px 0 12px;color:{_INK};">'
        f"{_e(_day_title(data.day))}</h1>",
    ]
    if is_empty(data):
        total = len(data.all_members)
        lines = ["Ta dan ni bilo nič novega: nobene nove prijave."]
        if data.ignored_count:
            lines.append(f"Prezrtih sporočil (niso prijave): {data.ignored_count}.")
        if data.open_reviews:
            lines.append(f"Še vedno čaka na pregled: {data.open_reviews} (intake review list).")
        lines.append(
            f"Doslej: {_members(total)} iz {_municipality_count(data.all_members)} od "
            f"{data.municipalities_total} občin."
        )
        body += [f'<p style="font-size:15px;margin:8px 0;">{_e(line)}</p>' for line in lines]
    else:
        body.append(_tiles(data))
        older = _older_reviews(data)
        if older:
            body.append(f'<p style="font-size:15px;margin:8px 0;">Iz prejšnjih dni še čaka na '
                        f"vašo odločitev: <strong>{older}</strong> (intake review list).</p>")
        if data.needs_review:
            body.append(_h2("Čaka na vašo odločitev", len(data.needs_review)))
            body.append(
                f'<p style="font-size:13px;color:{_MUTED};margin:0 0 10px;">Odločite z ukazom; '
                "prijavitelj dobi odgovor takoj po odločitvi. Namesto ... vpišite razlog.</p>"
            )
            body += [_review_card(row, data) for row in data.needs_review]
        if data.failed_replies:
            body += [
                _h2("Neposlani odgovori", len(data.failed_replies)),
                _table(
                    ("Komu", "Zadeva", "Napaka"),
                    [
                        (_e(f.recipient), _e(f.subject),
                         f'<span style="color:#b3261e;">'
                         f"{_e(shorten(f.error, _DETAIL_WIDTH))}</span>")
                        for f in data.failed_replies
                    ],
                ),
            ]
        if data.new_members:
            body += [_h2("Novi člani", len(data.new_members)), _member_table(data.new_members)]
        if data.updated_members:
            body += [
                _h2("Posodobljeni podatki članov", len(data.updated_members)),
                _member_table(data.updated_members),
            ]
        if data.incomplete:
            body += [_h2("Nepopolne prijave", len(data.incomplete)),
                     _submission_table(data.incomplete, data)]
        if data.rejected:
            body += [_h2("Zavrnjene prijave", len(data.rejected)),
                     _submission_table(data.rejected, data)]
        if data.ignored_count:
            body.append(
                f'<p style="font-size:14px;margin:20px 0 0;color:{_MUTED};">Prezrta sporočila: '
                f"<strong>{data.ignored_count}</strong> (samodejna sporočila in pošta, ki ni "
                "prijava; ostala so nedotaknjena).</p>"
            )
        body.append(_so_far_html(data))
        body.append(
            f'<p style="font-size:13px;color:{_MUTED};margin:24px 0 0;">Priloge: members.csv '
            "in members.xlsx – vsi člani do zdaj.</p>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="sl"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(subject(data))}</title></head>"
        f'<body style="margin:0;padding:0;background:#eef1f5;{_FONT}color:{_INK};">'
        '<div style="max-width:760px;margin:0 auto;padding:20px 12px;">'
        '<div style="background:#ffffff;border-radius:8px;padding:24px 28px;'
        'border:1px solid #dde3ea;">'
        + "\n".join(body)
        + "</div></div></body></html>\n"
    )


# --- the message -----------------------------------------------------------------------------

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def build_digest(
    data: DigestData,
    *,
    sender: str,
    sender_name: str,
    to: Sequence[str],
    message_id: str,
    sent_at: datetime | None = None,
) -> EmailMessage:
    """The digest as a message: text and HTML alternatives, and all members attached.

    multipart/mixed( multipart/alternative(text/plain, text/html), members.csv, members.xlsx ).
    An empty day is the short "nothing new" note alone (multipart/alternative): its member
    list would be yesterday's again. `sent_at` sets the Date header (the sender adds one
    otherwise); reading the clock is the caller's business.
    """
    message = EmailMessage()
    message["Subject"] = subject(data)
    message["From"] = Address(display_name=sender_name, addr_spec=sender)
    message["To"] = ", ".join(to)
    message["Message-ID"] = message_id
    if sent_at is not None:
        message["Date"] = format_datetime(sent_at)
    # RFC 3834: no vacation responder should answer a report.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render_text(data), cte="quoted-printable")
    message.add_alternative(render_html(data), subtype="html", cte="quoted-printable")
    if not is_empty(data):
        members = list(data.all_members)
        message.add_attachment(
            members_csv(members, tz=data.timezone), maintype="text", subtype="csv",
            filename="members.csv", params={"charset": "utf-8"},
        )
        message.add_attachment(
            members_xlsx(members, tz=data.timezone), maintype=XLSX_TYPE[0],
            subtype=XLSX_TYPE[1], filename="members.xlsx",
        )
    return message
