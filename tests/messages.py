"""Small builders of test e-mails (raw bytes), so tests state only what matters to them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.policy import SMTP

DEFAULT_FROM = "Ana Novak <ana.novak@kranj.si>"
DEFAULT_TO = "metka.lasic@skupnostobcin.si"


def build(
    *,
    subject: str = "Izjava o pristopu k mreži komunikatorjev",
    body: str = "Pozdravljeni, v prilogi pošiljam izjavo o pristopu.",
    sender: str = DEFAULT_FROM,
    to: str = DEFAULT_TO,
    headers: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    html: str | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    message_id: str = "<test-1@kranj.si>",
    date: str = "Wed, 03 Feb 2021 10:12:00 +0100",
) -> bytes:
    """A message; attachments are (filename, content type, data)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = date
    msg["Message-ID"] = message_id
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes(policy=SMTP)


def raw(text: str) -> bytes:
    """A hand-written message: lines joined with CRLF, encoded as latin-1 byte for byte."""
    return "\r\n".join(text.strip("\n").splitlines()).encode("latin-1") + b"\r\n"
