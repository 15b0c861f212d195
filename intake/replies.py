"""The automatic reply to a message: one per message, covering every declaration in it.

Pure: the texts come from a template file loaded once (intake/templates/replies.toml, or the
operator's copy), the clock and our Message-ID are passed in. Every header value built from
what the applicant sent is stripped of CR/LF before it is set, so a crafted subject cannot add
headers; the recipients are given to SMTP explicitly by the outbox, so even an injected Bcc
would reach nobody.
"""

from __future__ import annotations

import re
import textwrap
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.charset import QP, Charset
from email.encoders import encode_base64
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.utils import format_datetime, formataddr, getaddresses
from importlib.resources import files
from pathlib import Path
from string import Template

from intake.decide import (
    CLOSED,
    INTERNAL_ERROR,
    LATE,
    NOT_ELIGIBLE,
    ROLE_MISMATCH,
    UNKNOWN_MUNICIPALITY,
    UPDATED,
    DeclarationDecision,
    MessageDecision,
    Status,
)
from intake.reading import MessageView
from parsers.model import FIELDS_BY_NAME, MISSING, NO_DECLARATION, UNREADABLE_ATTACHMENT

_MESSAGE_ID = re.compile(r"^<[^<>\s@]+@[^<>\s@]+>$")
# RFC 5321 4.1.2 local parts: a dot-atom (RFC 6531 allows UTF-8 in it) or a quoted string
# ("ana novak"@kranj.si). Neither lets CR/LF through, so an address is always one line.
_DOT_ATOM = r"[^\x00-\x20\x7f@<>()\[\],;:\\\".]+(?:\.[^\x00-\x20\x7f@<>()\[\],;:\\\".]+)*"
_QUOTED = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"'
_LOCAL = re.compile(rf"^(?:{_DOT_ATOM}|{_QUOTED})$")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

MAX_SUBJECT = 200  # of the applicant's subject, echoed in ours

REQUIRED_TEMPLATES = (
    "greeting", "signature", "accepted", "updated", "needs_review", "incomplete",
    "no_declaration", "rejected", "why_not_eligible", "why_closed", "why_late",
    "why_unknown_municipality", "why_role_mismatch", "why_unreadable_attachment",
    "why_internal_error", "why_coordinator", "approved", "refused",
)


class TemplateError(ValueError):
    """The template file is unusable (the CLI reports it as a configuration error)."""


@dataclass(frozen=True)
class Templates:
    texts: Mapping[str, str]

    def fill(self, name: str, **values: str) -> str:
        """The text with its placeholders filled and its lines flowed and re-wrapped.

        Template files are wrapped for the person editing them; a single line break there
        is a space, a blank line a new paragraph, and a line starting "  - " a list item.
        """
        return reflow(self.exact(name, **values))

    def exact(self, name: str, **values: str) -> str:
        """The text with its placeholders filled, its lines as written."""
        return Template(self.texts[name]).safe_substitute(values).strip()


def reflow(text: str, width: int = 76) -> str:
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines: list[str] = []
        flowing: list[str] = []
        for line in block.splitlines():
            if line.startswith("  - "):
                if flowing:
                    lines.extend(textwrap.wrap(" ".join(flowing), width))
                    flowing = []
                lines.append(line.rstrip())
            else:
                flowing.append(line.strip())
        if flowing:
            lines.extend(textwrap.wrap(" ".join(flowing), width))
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def load_templates(path: Path | None = None) -> Templates:
    """The packaged Slovenian texts, or the operator's copy at `path`."""
    try:
        text = (path.read_text(encoding="utf-8") if path else
                files("intake").joinpath("templates/replies.toml").read_text(encoding="utf-8"))
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise TemplateError(f"{path}: {error}") from None
    missing = [name for name in REQUIRED_TEMPLATES if not isinstance(data.get(name), str)]
    if missing:
        raise TemplateError(f"{path}: missing texts: {', '.join(missing)}")
    return Templates({key: value for key, value in data.items() if isinstance(value, str)})


@dataclass(frozen=True)
class Sender:
    address: str
    name: str
    domain: str


@dataclass(frozen=True)
class CallDates:
    """The call's dates as a person reads them, for the texts."""

    deadline: str  # "9. 2. 2021"
    closes: str  # "16. 2. 2021 ob 16.00"


def one_line(value: str) -> str:
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def valid_address(value: str | None) -> str | None:
    """The address as SMTP is given it, or None if it is not one.

    Sloppy wrapping (spaces, angle brackets, a trailing dot after the domain) is taken off.
    An internationalised domain becomes its punycode form, which every server takes; a
    non-ASCII local part stays as it is (only a server offering SMTPUTF8 can take it, and
    the outbox says so when ours does not). Lower case throughout, as everywhere else
    addresses are compared (reply limits, bounces, erasure of a member).
    """
    if not value or len(value) > 320:
        return None
    value = value.strip().strip("<>").strip()
    local, at, domain = value.rpartition("@")
    if not at or not _LOCAL.match(local) or len(local.encode()) > 64:
        return None
    ascii_domain = _ascii_domain(domain.strip().rstrip("."))
    if ascii_domain is None:
        return None
    return f"{local.lower()}@{ascii_domain}"


def _ascii_domain(domain: str) -> str | None:
    """The domain in ASCII (IDNA punycode for each non-ASCII label), or None if unusable."""
    labels = domain.lower().split(".")
    try:
        labels = [label if label.isascii() else label.encode("idna").decode("ascii")
                  for label in labels]
    except UnicodeError:  # a label the IDNA codec refuses (too long, prohibited characters)
        return None
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return None
    ascii_domain = ".".join(labels)
    return ascii_domain if len(ascii_domain) <= 253 else None


def _addresses(value: str | None) -> list[str]:
    if not value:
        return []
    try:
        return [address for _, address in getaddresses([value]) if address]
    except Exception:  # the parser's recursion on pathological comments: nothing usable
        return []


def reply_recipient(view: MessageView) -> str | None:
    """The first usable address of Reply-To, else of From (RFC 5322 3.6.2).

    Reply-To is read whole rather than only its first address, so that a first entry that
    is not an address does not send the reply back to From. One reply goes to one address:
    the one the applicant put first.
    """
    candidates = [*_addresses(view.header("reply-to")), view.reply_to or "",
                  *_addresses(view.header("from")), view.sender]
    return next((found for value in candidates if (found := valid_address(value))), None)


def reply_subject(subject: str) -> str:
    subject = one_line(subject)[:MAX_SUBJECT]
    if re.match(r"^(re|odg|odgovor|aw|sv)\s*:", subject, re.IGNORECASE):
        return "Re: " + subject.split(":", 1)[1].strip()
    return f"Re: {subject}" if subject else "Re: Izjava o pristopu k mreži komunikatorjev"


def _why(code: str, decision: DeclarationDecision, templates: Templates, dates: CallDates,
         extra: Mapping[str, str]) -> str | None:
    names = {
        NOT_ELIGIBLE: "why_not_eligible", CLOSED: "why_closed", LATE: "why_late",
        UNKNOWN_MUNICIPALITY: "why_unknown_municipality", ROLE_MISMATCH: "why_role_mismatch",
        UNREADABLE_ATTACHMENT: "why_unreadable_attachment", INTERNAL_ERROR: "why_internal_error",
    }
    if code not in names:
        return None
    return templates.fill(names[code], deadline=dates.deadline, closes=dates.closes,
                          source=decision.source or "", **extra)


def _values(decision: DeclarationDecision) -> dict[str, str]:
    fields = decision.fields
    values = {name: str(fields.get(name, "")) for name in
              ("full_name", "organization", "municipality", "email")}
    # An unmatched municipality is not among the stored fields: name what was written.
    values["municipality"] = values["municipality"] or values["organization"]
    values["detail"] = "; ".join(decision.notes) or "datoteka je poškodovana ali šifrirana"
    return {key: one_line(value) for key, value in values.items()}


def _missing_list(reasons: Sequence[str]) -> str:
    lines = []
    for code in reasons:
        if code.startswith(MISSING):
            name = code[len(MISSING):]
            spec = FIELDS_BY_NAME.get(name)
            label = spec.label if spec else name
            if name == "consent":
                label = "Soglasje (označeno polje)"
            lines.append(f"  - {label}")
    return "\n".join(lines)


def paragraph_for(decision: DeclarationDecision, templates: Templates,
                  dates: CallDates) -> str:
    """The text for one declaration, chosen by its status and reasons."""
    values = _values(decision)
    reasons = decision.reasons
    whys = [why for code in reasons if (why := _why(code, decision, templates, dates, values))]
    if decision.status == Status.ACCEPTED:
        return templates.fill("updated" if UPDATED in reasons else "accepted", **values)
    if decision.status == Status.REJECTED:
        refusal = [w for code in reasons if code in (NOT_ELIGIBLE, CLOSED)
                   if (w := _why(code, decision, templates, dates, values))]
        return templates.fill("rejected", why=" ".join(refusal or whys), **values)
    if decision.status == Status.INCOMPLETE:
        if NO_DECLARATION in reasons:
            return templates.fill("no_declaration", **values)
        return templates.fill("incomplete", missing=_missing_list(reasons), **values)
    text = templates.fill("needs_review", **values)
    return text + ("\n\nOpomba: " + " ".join(whys) if whys else "")


def needs_form(decision: MessageDecision) -> bool:
    return any(d.status == Status.INCOMPLETE for d in decision.declarations)


@dataclass(frozen=True)
class Composed:
    """A reply ready for the outbox: its subject (for listings) and its bytes (for SMTP)."""

    subject: str
    data: bytes


def compose(
    view: MessageView,
    paragraphs: Sequence[str],
    *,
    recipient: str,
    sender: Sender,
    message_id: str,
    date: datetime,
    templates: Templates,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> Composed:
    """A reply in the thread of `view`, marked as automatic (RFC 3834).

    Built with the email package's compat32 classes: the modern policy parses every header
    it is given and folds it again on output, which made composing a reply take five times
    as long. What that parsing would guard against is done here: every value is one line
    (`_header` refuses CR/LF), and non-ASCII text becomes RFC 2047 encoded words.
    """
    body = "\n\n".join([templates.exact("greeting"), *paragraphs,
                         templates.exact("signature", from_name=one_line(sender.name))])
    text = MIMENonMultipart("text", "plain", charset="utf-8")
    text.set_payload(body + "\n", _UTF8_QP)
    message: Message = text
    if attachments:
        message = MIMEMultipart("mixed")
        del text["MIME-Version"]  # once, at the top, is what RFC 2045 asks for
        message.attach(text)
        for filename, content_type, data in attachments:
            part = MIMEBase(*content_type.split("/", 1))
            part.set_payload(data)
            encode_base64(part)
            del part["MIME-Version"]
            part.add_header("Content-Disposition", "attachment",
                            filename=filename if filename.isascii() else ("utf-8", "", filename))
            message.attach(part)
    subject = reply_subject(view.subject)
    message["From"] = _mailbox("From", one_line(sender.name), sender.address)
    message["To"] = _recipient_header(recipient)
    message["Subject"] = _header("Subject", subject)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = _header_text(message_id)
    original = one_line(view.message_id or "")
    if _MESSAGE_ID.match(original):
        message["In-Reply-To"] = original
        earlier = [ref for ref in one_line(view.header("references") or "").split()
                   if _MESSAGE_ID.match(ref)][-10:]
        message["References"] = " ".join([*earlier, original])
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
    return Composed(subject, message.as_bytes(policy=_SMTP))


_SMTP = compat32.clone(linesep="\r\n")
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP  # readable in any mail client's "view source", unlike base64


def _header_text(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"a header value must be one line: {value!r}")
    return value


def _mailbox(name: str, display: str, address: str) -> str:
    """`Name <address>`, a non-ASCII or long name as folded RFC 2047 words (formataddr
    makes one encoded word of any length, past RFC 2047's 75 and, for a long enough name,
    past SMTP's 998)."""
    address = _header_text(address)
    if display.isascii() and len(display) < 60:
        return formataddr((display, address))
    encoded = Header(display, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{encoded}\r\n <{address}>"


def _recipient_header(address: str) -> str:
    """The To value. A non-ASCII local part is written as raw UTF-8 (RFC 6532): an encoded
    word is not allowed in an address, and such a reply is only ever sent with SMTPUTF8.
    (compat32 writes a surrogate-escaped value byte for byte.)"""
    address = _header_text(address)
    if address.isascii():
        return address
    return address.encode("utf-8").decode("ascii", "surrogateescape")


def _header(name: str, value: str) -> str:
    """A header value: short ASCII as it is, anything else as folded RFC 2047 words."""
    value = _header_text(value)
    if value.isascii() and len(name) + len(value) < 76:
        return value
    return Header(value, "utf-8", header_name=name).encode(linesep="\r\n")


def compose_reply(
    view: MessageView,
    decision: MessageDecision,
    *,
    recipient: str,
    sender: Sender,
    message_id: str,
    date: datetime,
    templates: Templates,
    dates: CallDates,
    blank_forms: Sequence[tuple[str, str, bytes]],
) -> Composed:
    """The one reply to a decided message: a paragraph per declaration; the blank form
    attached when anything is incomplete, so the applicant can send it again at once."""
    paragraphs = [paragraph_for(d, templates, dates) for d in decision.declarations]
    if len(paragraphs) > 1:
        # Several people in one message: say whose declaration each paragraph is about.
        paragraphs = [
            f"{one_line(str(d.fields.get('full_name') or d.source or f'Izjava {n}'))}:\n{text}"
            for n, (d, text) in enumerate(zip(decision.declarations, paragraphs, strict=True), 1)
        ]
    return compose(view, paragraphs, recipient=recipient, sender=sender, message_id=message_id,
                   date=date, templates=templates,
                   attachments=blank_forms if needs_form(decision) else ())


def format_day(moment: datetime) -> str:
    return f"{moment.day}. {moment.month}. {moment.year}"


def call_dates(deadline: datetime, closes: datetime) -> CallDates:
    return CallDates(
        deadline=format_day(deadline),
        closes=f"{format_day(closes)} ob {closes.hour}.{closes.minute:02d}",
    )


def our_message_id(token: str, domain: str) -> str:
    """Our Message-ID, fixed before the first SMTP attempt so that a resend is recognisable."""
    return f"<intake.{token}@{domain}>"
