"""The TLS context for talking to the mailbox and the SMTP server."""

from __future__ import annotations

import ssl
from pathlib import Path


def client_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """The system's trusted CAs, plus the operator's own (`ca_file`), for servers whose
    certificate a private CA signed, as municipal mail relays' often is. Verification is
    never switched off."""
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context
