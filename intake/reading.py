"""Reading one raw e-mail into a plain, immutable view the rest of the pipeline can trust.

Mail from municipalities comes out of every client Slovenia has used in the last twenty
years: windows-1250 bodies that say they are utf-8, file names in RFC 2231 or encoded words,
Outlook's inline parts, forwarded messages, bounces, broken MIME. `read_message` never
raises: whatever it cannot read becomes an entry in `MessageView.defects`, and the message
goes on with what could be read. The standard library `email` package supplies the bytes
and the addresses: the message is split with the light compat32 classes (see `_SPLITTING`),
and only the headers that need it go through the modern policy's header registry.
"""

from __future__ import annotations

import binascii
import codecs
import email
import email.parser
import email.policy
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message
from email.policy import Compat32
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from types import MappingProxyType

from mailparser.utils import parse_received

from parsers.body import defuse_html

MAX_FILENAME = 100
# Deeper nesting than this is an attack or a mail loop, not a municipality's application.
MAX_DEPTH = 30
MAX_RECEIVED = 2000  # characters of one Received: header worth reading
# What a hostile message may cost the main process, which reads every message before any
# sandbox is involved: a declaration is a page of text and a few files, so these bounds are
# far above any real application and keep reading linear and well under a second.
MAX_RECEIVED_HEADERS = 100  # Received: times read (the newest is on top)
MAX_HEADER = 16_384  # characters of one header value kept
MAX_STRUCTURED = 4_096  # characters of an address or date header parsed (quadratic parser)
MAX_PARAM_HEADER = 8_192  # characters of a part's Content-Type / -Disposition parsed
MAX_PART_LINES = 10_000  # lines opening with "--" (candidate boundaries) split into parts
MAX_HEADER_LINES = 10_000  # lines of the message's header section (folded lines count)
MAX_RAW_LINES = 1_000_000  # lines split at all: 40 MB of base64 is 550,000
MAX_ATTACHMENTS = 100
MAX_TEXT = 2**20  # bytes of one text part decoded, characters of the body text kept
MAX_HTML = 2**19  # characters of HTML bodies kept, once inline images and styles are gone
MAX_HTML_PART = 8 * 2**20  # bytes of one HTML part decoded, inline images and all


@dataclass(frozen=True)
class Attachment:
    filename: str  # sanitised: safe to use as a path component
    content_type: str  # as declared by the sender; sniff the bytes before trusting it
    data: bytes
    inline: bool = False  # Content-Disposition inline (Outlook's signature logos are)


@dataclass(frozen=True)
class MessageView:
    message_id: str | None = None
    subject: str = ""
    sender: str = ""
    sender_name: str = ""
    reply_to: str | None = None
    return_path: str | None = None
    date: datetime | None = None
    received_times: tuple[datetime, ...] = ()
    headers: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    content_type: str = "text/plain"
    body_text: str = ""
    body_html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    # Text bodies of messages forwarded as attachments (message/rfc822), outermost first.
    forwarded_bodies: tuple[str, ...] = ()
    defects: tuple[str, ...] = ()

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None


def newest_received(view: MessageView) -> datetime | None:
    """The latest time in the Received: headers: when our server took the message."""
    return max(view.received_times, default=None)


def read_message(raw: bytes) -> MessageView:
    """Read raw RFC 5322 bytes into a MessageView; never raises."""
    try:
        return _Reader(raw).read()
    except Exception as exc:  # the last resort: a view that says why it is empty
        return MessageView(defects=(f"message unreadable: {type(exc).__name__}",))


class _Splitting(Compat32):
    """compat32 with header values as text: raw 8-bit bytes in a header (a file name in
    UTF-8 or windows-1250, as some clients write it) are decoded instead of becoming
    replacement characters.

    Why not policy `default`: its header registry parses Content-Type and -Disposition
    afresh on every look, and made splitting a message twice as slow as compat32's.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        return _undo_surrogates(value)


def _undo_surrogates(value: str) -> str:
    try:
        value.encode("ascii")
        return value
    except UnicodeEncodeError:
        pass
    raw = value.encode("ascii", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1250", "replace")


_SPLITTING = _Splitting()


class _Reader:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw if isinstance(raw, bytes) else bytes(raw)
        self.defects: list[str] = []
        self.attachments: list[Attachment] = []
        self.forwarded: list[str] = []

    def read(self) -> MessageView:
        raw = _cut_parts(_cut_headers(self.raw, self.defects), self.defects)
        msg = self._split(_cut_lines(raw, self.defects))
        headers = self._headers(msg)
        sender_name, sender = self._address(headers, "from")
        _, reply_to = self._address(headers, "reply-to")
        plain, html = self._walk(msg, depth=0)
        body_html = self._cap_html("\n".join(html)) if html else None
        body_text = self._cap("\n".join(plain), MAX_TEXT, "body text") if plain else (
            html_to_text(body_html) if body_html else "")
        self._collect_defects(msg)
        return MessageView(
            message_id=_first(headers, "message-id"),
            subject=_first(headers, "subject") or "",
            sender=sender,
            sender_name=sender_name,
            reply_to=reply_to or None,
            return_path=_first(headers, "return-path"),
            date=_parse_date(_first(headers, "date")),
            received_times=tuple(
                t for t in (_received_time(v)
                            for v in headers.get("received", ())[:MAX_RECEIVED_HEADERS]) if t
            ),
            headers=MappingProxyType(headers),
            content_type=_content_type(msg),
            body_text=body_text,
            body_html=body_html,
            attachments=tuple(self.attachments),
            forwarded_bodies=tuple(text for text in self.forwarded if text),
            defects=tuple(dict.fromkeys(self.defects)),
        )

    def _split(self, raw: bytes) -> Message:
        try:
            return email.message_from_bytes(raw, policy=_SPLITTING)
        except RecursionError:
            # The email package splits nested multiparts recursively: thousands of levels
            # exhaust the stack before our own MAX_DEPTH is reached. The headers still say
            # who wrote and why; the content is beyond reading.
            self.defects.append("MIME nesting too deep")
            msg = email.parser.BytesParser(policy=_SPLITTING).parsebytes(raw, headersonly=True)
            msg.set_payload("")
            return msg

    def _cap(self, text: str, limit: int, what: str) -> str:
        if len(text) <= limit:
            return text
        self.defects.append(f"{what} cut at {limit} characters")
        return text[:limit]

    def _cap_html(self, html: str) -> str:
        if len(html) > MAX_HTML:
            # Pictures pasted into the text travel as data: URIs, Word's formatting as style
            # sheets: neither is text, and they make most of a big HTML body.
            html = _without_styles(_DATA_URI.sub("data:", html))
        return self._cap(html, MAX_HTML, "HTML body")

    def _headers(self, msg: Message) -> dict[str, tuple[str, ...]]:
        collected: dict[str, list[str]] = {}
        for name, value in msg.raw_items():
            key = str(name).strip().lower()
            limit = MAX_STRUCTURED if key in _STRUCTURED else MAX_HEADER
            if len(value) > limit:
                # The header registry's parser is recursive and quadratic on some input
                # (nested comments, unclosed quotes); no real header is this long.
                self.defects.append(f"header {key[:40]} cut at {limit} characters")
                value = value[:limit]
            if key not in _STRUCTURED and "=?" not in str(value) and str(value).isascii():
                # Most headers (Received, DKIM, X-...) need no decoding, and the header
                # registry is the most expensive part of reading a message.
                collected.setdefault(key, []).append(_one_line(str(value)))
                continue
            try:
                decoded = str(email.policy.default.header_fetch_parse(name, value))
            except Exception:
                # e.g. CR/LF inside an encoded display name raises ValueError even on read:
                # that costs this header's parsing, not the message.
                self.defects.append(f"header {name} unreadable")
                decoded = _decode_header_loosely(str(value))
            collected.setdefault(key, []).append(_one_line(decoded))
        return {key: tuple(values) for key, values in collected.items()}

    def _address(self, headers: Mapping[str, tuple[str, ...]], name: str) -> tuple[str, str]:
        value = _first(headers, name)
        if not value:
            return "", ""
        try:
            pairs = getaddresses([value])
        except Exception:
            try:
                pairs = [parseaddr(value)]
            except Exception:  # RecursionError on nested comments, as getaddresses
                return "", ""
        for display, addr in pairs:
            addr = addr.strip().strip("<>").lower()
            if "@" in addr:
                return display.strip(), addr
        return "", ""

    def _walk(self, part: Message, depth: int) -> tuple[list[str], list[str]]:
        """Text bodies of this (sub)message; attachments are collected on the way."""
        plain: list[str] = []
        html: list[str] = []
        if depth > MAX_DEPTH:
            self.defects.append("MIME nesting too deep")
            return plain, html
        _cap_params(part)
        ctype = _content_type(part)
        if ctype in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                self._walk_forwarded(inner[0], depth)
            else:
                self._add_attachment(part, ctype)
            return plain, html
        if ctype.startswith("multipart/") and not part.is_multipart():
            # No usable boundary: what is there is most likely the text someone wrote.
            plain.append(decode_text(self._text_bytes(part, MAX_TEXT), _charset(part)))
            return plain, html
        if part.is_multipart():
            if not ctype.startswith("multipart/"):
                return plain, html  # message/delivery-status and kin: headers, not content
            for child in _children(part):
                sub_plain, sub_html = self._walk(child, depth + 1)
                plain.extend(sub_plain)
                html.extend(sub_html)
            return plain, html
        disposition = _disposition(part)
        filename = _raw_filename(part)
        if (
            ctype in ("text/plain", "text/html")
            and disposition != "attachment"
            and not filename
        ):
            # HTML is cut after its inline images and styles are gone (see _cap_html).
            limit = MAX_TEXT if ctype == "text/plain" else MAX_HTML_PART
            text = decode_text(self._text_bytes(part, limit), _charset(part))
            if ctype == "text/plain":
                text = self._take_uuencoded(text)
                if _param(part, "format").lower() == "flowed":
                    text = unflow(text, delsp=_param(part, "delsp").lower() == "yes")
            (plain if ctype == "text/plain" else html).append(text)
            return plain, html
        saved = _saved_message(part, ctype, filename)
        if saved is not None:
            self._walk_forwarded(saved, depth)
            return plain, html
        self._add_attachment(part, ctype)
        return plain, html

    def _text_bytes(self, part: Message, limit: int) -> bytes:
        data = _payload_bytes(part)
        if len(data) > limit:
            self.defects.append(f"text part cut at {limit} bytes")
            data = data[:limit]
        return data

    def _walk_forwarded(self, inner: Message, depth: int) -> None:
        slot = len(self.forwarded)  # outermost first, though read depth-first
        self.forwarded.append("")
        sub_plain, sub_html = self._walk(inner, depth + 1)
        room = MAX_TEXT - sum(map(len, self.forwarded))
        text = ("\n".join(sub_plain) if sub_plain else "") or html_to_text(
            self._cap_html("\n".join(sub_html)))
        self.forwarded[slot] = self._cap(text, max(room, 0), "forwarded text")

    def _room_for_attachment(self) -> bool:
        if len(self.attachments) < MAX_ATTACHMENTS:
            return True
        self.defects.append(f"more than {MAX_ATTACHMENTS} attachments: the rest not read")
        return False

    def _add_attachment(self, part: Message, ctype: str) -> None:
        if not self._room_for_attachment():
            return
        number = len(self.attachments) + 1
        name = sanitise_filename(_raw_filename(part) or "", number)
        data = _message_bytes(part) if ctype.startswith("message/") else _payload_bytes(part)
        self.attachments.append(
            Attachment(
                filename=name,
                content_type=ctype,
                data=data,
                inline=_disposition(part) == "inline",
            )
        )

    def _take_uuencoded(self, text: str) -> str:
        """The text without its uuencoded files, which become attachments.

        Old clients (and some scanners' mailers) put a file into a plain-text body between
        `begin 644 name` and `end` instead of a MIME part.
        """
        if "begin " not in text:
            return text
        kept: list[str] = []
        position = 0
        for match in _UUENCODED.finditer(text):
            if not self._room_for_attachment():
                break
            kept.append(text[position:match.start()])
            position = match.end()
            number = len(self.attachments) + 1
            self.attachments.append(Attachment(
                filename=sanitise_filename(match.group("name"), number),
                content_type="application/octet-stream",
                data=_uudecode(match.group("lines")),
            ))
        kept.append(text[position:])
        return "".join(kept)

    def _collect_defects(self, msg: Message) -> None:
        for part in _all_parts(msg, 0):
            for defect in getattr(part, "defects", ()):
                self.defects.append(type(defect).__name__)


_SAVED_MESSAGE_TYPES = frozenset({"application/octet-stream", "text/plain", "application/eml",
                                  "application/x-eml", "message/x-eml"})
_MESSAGE_HEADERS = frozenset({"from", "subject", "date", "message-id", "content-type"})


def _saved_message(part: Message, ctype: str, filename: str | None) -> Message | None:
    """A forwarded message saved as a file (`x.eml` sent as application/octet-stream, as
    webmails and Outlook's "attach file" do), split like a message/rfc822 part; else None."""
    if ctype not in _SAVED_MESSAGE_TYPES or not (filename or "").lower().endswith(".eml"):
        return None
    data = _payload_bytes(part)
    try:
        inner = email.message_from_bytes(data, policy=_SPLITTING)
    except Exception:
        return None
    names = {str(name).lower() for name in inner}
    return inner if len(names & _MESSAGE_HEADERS) >= 2 else None


def _nth_line_end(raw: bytes, newline: bytes, count: int, end: int) -> int:
    """Where the count-th `newline` before `end` is, or -1."""
    position = -1
    for _ in range(count):
        position = raw.find(newline, position + 1, end)
        if position < 0:
            return -1
    return position


def _cut_headers(raw: bytes, defects: list[str]) -> bytes:
    """The message without header lines beyond MAX_HEADER_LINES, and then without a body.

    The email package spends some microseconds on every header line: millions of them
    (40 MB of "X-A: b") cost ten seconds and a gigabyte before anything is read.
    """
    end = raw.find(b"\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    if end < 0:
        end = len(raw)
    if raw.count(b"\n", 0, end) <= MAX_HEADER_LINES:
        return raw
    defects.append(f"more than {MAX_HEADER_LINES} header lines: the rest not read")
    return raw[:_nth_line_end(raw, b"\n", MAX_HEADER_LINES, end) + 1]


def _cut_lines(raw: bytes, defects: list[str]) -> bytes:
    """The message up to its MAX_RAW_LINES-th line: the email package keeps every line of a
    part as an object while splitting (20 million empty lines took 5 s and 1.6 GB)."""
    if raw.count(b"\n") <= MAX_RAW_LINES:
        return raw
    defects.append(f"more than {MAX_RAW_LINES} lines: the rest not read")
    return raw[:_nth_line_end(raw, b"\n", MAX_RAW_LINES, len(raw)) + 1]


def _cut_parts(raw: bytes, defects: list[str]) -> bytes:
    """The message up to its MAX_PART_LINES-th line opening with "--".

    The email package makes an object of every part, some thousands a second: a message
    of 200,000 empty parts costs seconds before a single part is read. A boundary line
    opens with "--"; a message cut there reads as one whose closing boundary is missing.
    """
    if raw.count(b"\n--") <= MAX_PART_LINES:
        return raw
    position = _nth_line_end(raw, b"\n--", MAX_PART_LINES, len(raw))
    defects.append(f"more than {MAX_PART_LINES} MIME parts: the rest not read")
    return raw[:position + 1]


def _cap_params(part: Message) -> None:
    """Cut a part's Content-Type and -Disposition before anything parses their parameters.

    The email package splits parameters anew on every look (get_filename, get_param,
    get_content_type), each time superlinear in their number: a header of 100,000
    parameters or RFC 2231 continuations costs seconds per look.
    """
    for name in ("content-type", "content-disposition"):
        value = part.get(name)
        if value is not None and len(str(value)) > MAX_PARAM_HEADER:
            part.replace_header(name, str(value)[:MAX_PARAM_HEADER])


def _without_styles(html: str) -> str:
    """HTML without its <style> elements; found with str.find, linear on unclosed ones."""
    kept: list[str] = []
    position = 0
    lowered = html.lower()
    while (start := lowered.find("<style", position)) >= 0:
        end = lowered.find("</style>", start)
        if end < 0:
            break
        kept.append(html[position:start])
        position = end + len("</style>")
    kept.append(html[position:])
    return "".join(kept)


def _all_parts(part: Message, depth: int) -> Iterator[Message]:
    yield part
    if depth > MAX_DEPTH:
        return
    for child in _children(part):
        yield from _all_parts(child, depth + 1)


def _children(part: Message) -> list[Message]:
    if not part.is_multipart():
        # get_payload() of a leaf re-decodes 8-bit text in its declared charset, for
        # nothing here: seconds for 40 MB in a slow codec (utf-7).
        return []
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    return []


def _first(headers: Mapping[str, tuple[str, ...]], name: str) -> str | None:
    values = headers.get(name)
    return values[0].strip() if values else None


def _one_line(text: str) -> str:
    return re.sub(r"[\r\n]+[ \t]*", " ", text).strip()


# Headers whose value the header registry must interpret (addresses, dates), not only decode.
_STRUCTURED = frozenset({"from", "reply-to", "sender", "to", "cc", "date", "message-id"})


def _decode_header_loosely(value: str) -> str:
    """compat32-style decoding that tolerates what the modern policy rejects."""
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "application/octet-stream"


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _charset(part: Message) -> str | None:
    try:
        charset = part.get_param("charset")
    except Exception:
        return None
    if isinstance(charset, tuple):  # an RFC 2231 value: (charset, language, value)
        charset = charset[2]
    return str(charset).strip().strip('"') if charset else None


def _param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
    except Exception:
        return ""
    if isinstance(value, tuple):
        value = value[2]
    return str(value).strip().strip('"') if value else ""


def unflow(text: str, *, delsp: bool) -> str:
    """format=flowed text (RFC 3676) as its writer typed it: a line that ends in a space
    goes on in the next one (minus that space under DelSp=yes), at the same quote depth.

    Thunderbird and Apple Mail break long lines so; unjoined, "Naziv organizacije: Mestna "
    and "občina Kranj" would be two lines, and the value cut short.
    """
    out: list[list[str]] = []  # the pieces of each line: joined once, so never quadratic
    open_depth: int | None = None  # quote depth of the paragraph still flowing
    for line in text.splitlines():
        stripped = line.lstrip(">")
        depth = len(line) - len(stripped)
        if stripped.startswith(" "):
            stripped = stripped[1:]  # space-stuffing
        flowed = stripped.endswith(" ") and stripped != "-- "
        if flowed and delsp:
            stripped = stripped[:-1]
        if open_depth is not None and open_depth == depth and out:
            out[-1].append(stripped)
        else:
            out.append([">" * depth + " " + stripped if depth else stripped])
        open_depth = depth if flowed else None
    return "\n".join("".join(pieces) for pieces in out)


def _raw_filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        # Some clients name the file only in Content-Type.
        try:
            value = part.get_param("name")
        except Exception:
            value = None
        if isinstance(value, tuple):
            value = value[2]
        name = str(value) if value else None
    if name and "=?" in name:
        name = _decode_header_loosely(name)  # encoded words inside a quoted parameter
    return name


_DATA_URI = re.compile(r"data:[^\s\"'<>)]{256,}")

_UUENCODED = re.compile(
    r"^begin [0-7]{3,4} (?P<name>[^\r\n]+?)[ \t]*\r?\n"
    r"(?P<lines>(?:[!-`][ -`]*\r?\n)*?)"
    r"`?[ \t]*\r?\n?end[ \t]*\r?$",
    re.MULTILINE,
)


def _uudecode(lines: str) -> bytes:
    """uuencoded lines to bytes; a line some mailer trimmed or padded still decodes."""
    data = bytearray()
    for line in lines.splitlines():
        if not line or line == "`":
            continue
        try:
            data += binascii.a2b_uu(line)
        except binascii.Error:
            # Trailing garbage (the workaround of the old uu module): the length byte says
            # how many characters the line's bytes need.
            count = (((ord(line[0]) - 32) & 63) * 4 + 5) // 3
            try:
                data += binascii.a2b_uu(line[:count])
            except binascii.Error:
                continue
    return bytes(data)


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


def _message_bytes(part: Message) -> bytes:
    inner = part.get_payload()
    if isinstance(inner, list) and inner and isinstance(inner[0], Message):
        try:
            return inner[0].as_bytes(policy=email.policy.compat32)
        except Exception:
            pass
    return _payload_bytes(part)


def decode_text(data: bytes, charset: str | None) -> str:
    """Decode a body: the declared charset if it fits, else utf-8, else windows-1250.

    Slovenian mail often declares one charset and carries another (windows-1250 labelled
    utf-8, utf-8 labelled iso-8859-2); the strict attempts find the one that fits, and
    replacement is the last resort. A single-byte label decodes anything, so there the
    Central European codepages are tried too and the one that reads most Slovenian letters
    wins (windows-1250 labelled iso-8859-1 would turn "č" into "è" and "š" into a control
    character).
    """
    candidates = []
    if not data.isascii():
        # Valid non-ASCII UTF-8 is almost never an accident, whatever the label says.
        candidates.append("utf-8")
    if charset:
        candidates.append(charset.lower())
    candidates += ["utf-8", "cp1250"]
    for candidate in candidates:
        try:
            text = data.decode(candidate)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
        if not data.isascii() and _single_byte(candidate):
            for other in ("cp1250", "iso-8859-2"):
                alternative = _decode_or_none(data, other)
                if alternative is not None and _score(alternative) > _score(text):
                    text = alternative
        return text
    return data.decode("utf-8", errors="replace")


_SLOVENIAN = frozenset("čšžćđČŠŽĆĐ")


def _single_byte(charset: str) -> bool:
    """A codec that decodes any byte: its label says nothing certain about the bytes."""
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return False
    return name.startswith(("iso8859-", "cp125", "cp8", "mac-", "latin"))


def _decode_or_none(data: bytes, charset: str) -> str | None:
    try:
        return data.decode(charset)
    except UnicodeDecodeError:
        return None


def _score(text: str) -> int:
    """Slovenian letters read, less C1 control characters (a codepage that does not fit)."""
    return sum(ch in _SLOVENIAN for ch in text) - sum("\x80" <= ch <= "\x9f" for ch in text)


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:
        return None
    if parsed is None:
        return None
    # "-0000" means "zone unknown" and parses naive: UTC is the honest reading.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _received_time(value: str) -> datetime | None:
    """The time stamp of one Received: header (RFC 5321 4.4: after the last ';').

    mail-parser's Received grammar splits the clauses (from, by, with, id, for, date) even
    where a comment holds a ';'; the plain split is the fallback when it finds no date.
    Hostile headers are cut short first, so its regular expressions stay cheap.
    """
    value = value[:MAX_RECEIVED]
    try:
        stamp = parse_received(value).get("date")
    except Exception:  # mail-parser raises its own errors on malformed clauses
        stamp = None
    if not stamp and ";" in value:
        stamp = value.rsplit(";", 1)[1]
    return _parse_date(stamp.strip()) if stamp else None


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def sanitise_filename(name: str, number: int) -> str:
    """A name safe as one path component: no directories, control chars or leading dots."""
    name = unicodedata.normalize("NFC", name)
    name = _CONTROL.sub("", name)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    name = re.sub(r"\s+", " ", name).strip().lstrip(". ").strip()
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_FILENAME - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_FILENAME].rstrip()
    return name or f"attachment-{number}"


_BLOCK_TAGS = frozenset(
    ("p", "br", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
     "blockquote", "pre", "hr", "title", "section", "article", "header", "footer")
)
_CELL_TAGS = frozenset(("td", "th"))
_SKIP_TAGS = frozenset(("script", "style", "head"))


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")
        elif tag in _CELL_TAGS:
            self.chunks.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML body: block elements become lines, table cells tab-separated.

    A private fallback until parsers.body offers one; good enough to find labels and values.
    """
    parser = _TextExtractor()
    try:
        parser.feed(defuse_html(html))  # quadratic on unclosed constructs otherwise
        parser.close()
    except Exception:
        return re.sub(r"<[^>]*>", " ", html)
    text = "".join(parser.chunks).replace("\xa0", " ")
    lines = (re.sub(r"[ \t]*\t[ \t]*", "\t", re.sub(r" +", " ", line)).strip(" \t")
             for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
