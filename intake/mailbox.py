"""The coordinator's IMAP mailbox: fetch what is new, leave everything else exactly as it was.

The mailbox is the coordinator's own, so this adapter reads with BODY.PEEK (unread mail stays
unread), selects the folder read-only unless it has to move applications, never sends a plain
EXPUNGE (it would also purge what the coordinator deleted), and never puts CHARSET in a SEARCH
(Exchange refuses it). New mail is found by UID above the last one committed, under the
folder's UIDVALIDITY; the caller decides what "committed" means.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from intake.config import MailboxSettings
from intake.errors import MailboxError, ServerUnreachable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawMessage:
    """One message as the server holds it; `raw` is None when it was too big to download."""

    uid: int
    uidvalidity: int
    internaldate: datetime  # the server's receive time, aware
    size: int
    raw: bytes | None
    headers: bytes = b""  # only the header block, for a message too big to download


class Mailbox:
    """One IMAP session on one folder. Use as a context manager; every call may raise
    ServerUnreachable (network, login, timeout) or MailboxError (the server said no)."""

    def __init__(self, settings: MailboxSettings, *, writable: bool = False) -> None:
        self.settings = settings
        self.writable = writable
        self._client: IMAPClient | None = None
        self.uidvalidity = 0
        self.capabilities: frozenset[bytes] = frozenset()

    def __enter__(self) -> Mailbox:
        self.open()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    @property
    def where(self) -> str:
        return f"IMAP {self.settings.host}:{self.settings.port}"

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise MailboxError("mailbox is not open")
        return self._client

    def open(self) -> None:
        settings = self.settings
        try:
            client = IMAPClient(
                settings.host, port=settings.port, ssl=settings.security == "ssl",
                timeout=settings.timeout, ssl_context=ssl.create_default_context(),
            )
        except (OSError, IMAPClientError) as error:
            raise ServerUnreachable(f"{self.where}: {_describe(error)}") from None
        # imapclient turns INTERNALDATE into naive local time unless told otherwise.
        client.normalise_times = False
        self._client = client
        try:
            if settings.security == "starttls":
                client.starttls(ssl.create_default_context())
            client.login(settings.username, settings.password.resolve())
            self.capabilities = frozenset(client.capabilities())
            self._select()
        except LoginError as error:
            self.close()
            raise ServerUnreachable(f"{self.where}: login as {settings.username!r} refused: "
                                    f"{_describe(error)}") from None
        except (OSError, IMAPClientError) as error:
            self.close()
            raise ServerUnreachable(f"{self.where}: {_describe(error)}") from None

    def _select(self) -> None:
        folder = self.settings.folder
        try:
            status = self.client.select_folder(folder, readonly=not self.writable)
        except IMAPClientError as error:
            folders = ", ".join(sorted(name for _flags, _sep, name in self.client.list_folders()))
            raise MailboxError(
                f"{self.where}: folder {folder!r} cannot be opened ({_describe(error)}); "
                f"the folders are: {folders}"
            ) from None
        self.uidvalidity = int(status[b"UIDVALIDITY"])

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except (OSError, IMAPClientError):
            with contextlib.suppress(OSError, IMAPClientError):
                client.shutdown()

    def uids_after(self, last_uid: int) -> list[int]:
        """UIDs greater than last_uid, ascending.

        `UID n:*` always matches the highest message even when it is below n (RFC 3501),
        so the answer is filtered here rather than trusted.
        """
        try:
            found = self.client.search(["UID", f"{last_uid + 1}:*"])
        except (OSError, IMAPClientError) as error:
            raise ServerUnreachable(f"{self.where}: SEARCH failed: {_describe(error)}") from None
        return sorted(uid for uid in found if uid > last_uid)

    def fetch_groups(self, uids: Sequence[int], max_bytes: int,
                     skip_before: datetime | None = None) -> Iterator[list[RawMessage]]:
        """The messages of `uids` that the server still has, in UID order, in groups of at
        most GROUP_BYTES of bodies (one FETCH each).

        Sizes and receive times come first, so a message over `max_bytes` is never
        downloaded (only its header block is), and one received before `skip_before` is
        not downloaded at all (yielded with neither body nor headers). A UID missing from
        the server's answer (it was expunged meanwhile) is simply not yielded.
        """
        if not uids:
            return
        try:
            meta = self.client.fetch(uids, ["INTERNALDATE", "RFC822.SIZE"])
        except (OSError, IMAPClientError) as error:
            raise ServerUnreachable(f"{self.where}: FETCH failed: {_describe(error)}") from None
        present = [uid for uid in uids if uid in meta]
        early = {uid for uid in present if skip_before is not None
                 and _aware(meta[uid].get(b"INTERNALDATE")) < skip_before}
        for group in _groups(present, lambda uid: int(meta[uid][b"RFC822.SIZE"])):
            small = [uid for uid in group if uid not in early
                     and meta[uid][b"RFC822.SIZE"] <= max_bytes]
            large = [uid for uid in group if uid not in early and uid not in small]
            try:
                bodies = self.client.fetch(small, ["BODY.PEEK[]"]) if small else {}
                heads = self.client.fetch(large, ["BODY.PEEK[HEADER]"]) if large else {}
            except (OSError, IMAPClientError) as error:
                raise ServerUnreachable(
                    f"{self.where}: FETCH failed: {_describe(error)}") from None
            fetched: list[RawMessage] = []
            for uid in group:
                internaldate = _aware(meta[uid].get(b"INTERNALDATE"))
                size = int(meta[uid][b"RFC822.SIZE"])
                if uid in early:
                    fetched.append(RawMessage(uid, self.uidvalidity, internaldate, size, None))
                elif uid in bodies and b"BODY[]" in bodies[uid]:
                    body = bytes(bodies[uid][b"BODY[]"])
                    fetched.append(RawMessage(uid, self.uidvalidity, internaldate, size, body))
                elif uid in heads:
                    header = bytes(heads[uid].get(b"BODY[HEADER]", b""))
                    fetched.append(
                        RawMessage(uid, self.uidvalidity, internaldate, size, None, header))
                # else: the body went missing between the two FETCHes; next cycle tries again.
            yield fetched

    def move(self, uids: Sequence[int], folder: str) -> None:
        """Move these UIDs, and only these, to `folder` (created if missing).

        MOVE where the server has it; otherwise COPY, flag \\Deleted and UID EXPUNGE of
        exactly these UIDs (UIDPLUS). A server with neither keeps the originals: a plain
        EXPUNGE would also purge whatever the coordinator had marked deleted.
        """
        if not uids:
            return
        client = self.client
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            if b"MOVE" in self.capabilities:
                client.move(uids, folder)
                return
            client.copy(uids, folder)
            if b"UIDPLUS" in self.capabilities:
                client.add_flags(uids, [b"\\Deleted"], silent=True)
                client.uid_expunge(uids)
            else:
                log.warning("%s has neither MOVE nor UIDPLUS: copied to %s, originals kept",
                            self.where, folder)
        except (OSError, IMAPClientError) as error:
            raise ServerUnreachable(f"{self.where}: moving to {folder!r} failed: "
                                    f"{_describe(error)}") from None


# Bodies are fetched in groups of at most this many bytes, so memory stays flat however
# large the batch, and a cut connection costs at most one group.
GROUP_BYTES = 8 * 2**20


def _groups(uids: Sequence[int], size: Callable[[int], int]) -> Iterator[list[int]]:
    group: list[int] = []
    total = 0
    for uid in uids:
        if group and total + size(uid) > GROUP_BYTES:
            yield group
            group, total = [], 0
        group.append(uid)
        total += size(uid)
    if group:
        yield group


def _aware(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    # A server that omits INTERNALDATE: "now" is the best available receive time.
    return datetime.now(UTC)


def _describe(error: BaseException) -> str:
    if isinstance(error, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return f"host not found ({error.strerror})"
    if isinstance(error, ssl.SSLError):
        return f"TLS failed ({error.reason or error})"
    text = str(error)
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text.strip() or type(error).__name__
