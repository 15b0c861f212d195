"""The coordinator's IMAP mailbox: fetch what is new, leave everything else exactly as it was.

The mailbox is the coordinator's own, so this adapter reads with BODY.PEEK (unread mail stays
unread), selects the folder read-only unless it has to move applications, never sends a plain
EXPUNGE (it would also purge what the coordinator deleted), and never puts CHARSET in a SEARCH
(Exchange refuses it). New mail is found by UID above the last one committed, under the
folder's UIDVALIDITY; the caller decides what "committed" means.

Server habits met here: the coordinator deleting mail while a cycle runs (Dovecot answers
BODY[] NIL, or NO [EXPUNGEISSUED] to MOVE/COPY), a server without MOVE or UIDPLUS, a
PREAUTH greeting, and passwords with characters outside ASCII.
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
from intake.tls import client_context

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
        # The first UID whose body the server would not give: nothing from it on is yielded
        # in this session, so the caller's checkpoint stays below it and the next cycle
        # asks again.
        self._held: int | None = None

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
                timeout=settings.timeout, ssl_context=client_context(settings.ca_file),
            )
        except (OSError, IMAPClientError) as error:
            raise ServerUnreachable(f"{self.where}: {_describe(error)}") from None
        # imapclient turns INTERNALDATE into naive local time unless told otherwise.
        client.normalise_times = False
        self._client = client
        try:
            preauthenticated = bytes(client.welcome or b"").upper().startswith(b"* PREAUTH")
            if settings.security == "starttls":
                if preauthenticated:
                    # Already authenticated, STARTTLS is no longer allowed (RFC 3501): going
                    # on would read the mailbox over plain text.
                    raise ServerUnreachable(f"{self.where}: the server greeted with PREAUTH, "
                                            "so STARTTLS is impossible; refusing plain text")
                client.starttls(client_context(settings.ca_file))
            if not preauthenticated:
                _login(client, settings.username, settings.password.resolve())
            self.capabilities = frozenset(client.capabilities())
            self._select()
        except LoginError as error:
            self.close()
            raise ServerUnreachable(f"{self.where}: login as {settings.username!r} refused: "
                                    f"{_describe(error)}") from None
        except (OSError, IMAPClientError) as error:
            self.close()
            raise ServerUnreachable(f"{self.where}: {_describe(error)}") from None
        except BaseException:
            # A missing folder (MailboxError) must not leave the session open: `intake run`
            # would leak one connection per cycle.
            self.close()
            raise

    def _select(self) -> None:
        folder = self.settings.folder
        try:
            status = self.client.select_folder(folder, readonly=not self.writable)
        except IMAPClientError as error:
            listing = self.client.list_folders()
            folders = ", ".join(sorted(_text(name) for _flags, _sep, name in listing))
            raise MailboxError(
                f"{self.where}: folder {folder!r} cannot be opened ({_describe(error)}); "
                f"the folders are: {folders}{_separator_hint(folder, listing)}"
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
        the server's answer, or answered NIL, that the server no longer holds (the
        coordinator deleted it meanwhile) is simply not yielded; one it still holds but will
        not give is asked for once more, and if it still does not come, neither it nor any
        later UID is yielded in this session, so no checkpoint passes it.
        """
        if self._held is not None:
            uids = [uid for uid in uids if uid < self._held]
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
                bodies = self._sections(small, "BODY.PEEK[]", b"BODY[]")
                heads = self._sections(large, "BODY.PEEK[HEADER]", b"BODY[HEADER]")
                unfetched = [uid for uid in small if uid not in bodies]
                unfetched += [uid for uid in large if uid not in heads]
                stuck = (self._refetch(unfetched, large, bodies, heads) if unfetched
                         else None)
            except (OSError, IMAPClientError) as error:
                raise ServerUnreachable(
                    f"{self.where}: FETCH failed: {_describe(error)}") from None
            fetched: list[RawMessage] = []
            for uid in group:
                if stuck is not None and uid >= stuck:
                    break
                internaldate = _aware(meta[uid].get(b"INTERNALDATE"))
                size = int(meta[uid][b"RFC822.SIZE"])
                if uid in early:
                    fetched.append(RawMessage(uid, self.uidvalidity, internaldate, size, None))
                elif uid in bodies:
                    fetched.append(
                        RawMessage(uid, self.uidvalidity, internaldate, size, bodies[uid]))
                elif uid in heads:
                    fetched.append(RawMessage(uid, self.uidvalidity, internaldate, size, None,
                                              heads[uid]))
                # else: the coordinator deleted it meanwhile; there is nothing left to read.
            yield fetched
            if stuck is not None:
                self._held = stuck
                log.warning("%s: the server gave no content for UID %s of %r although the "
                            "message is there; it and later mail are left for the next cycle",
                            self.where, stuck, self.settings.folder)
                return

    def _sections(self, uids: Sequence[int], item: str, key: bytes) -> dict[int, bytes]:
        """The section `key` of each UID that the server gave; a NIL section (Dovecot's
        answer for a message expunged by another session) counts as not given."""
        if not uids:
            return {}
        found = self.client.fetch(uids, [item])
        return {uid: bytes(found[uid][key]) for uid in uids
                if isinstance(found.get(uid, {}).get(key), bytes)}

    def _refetch(self, uids: Sequence[int], large: Sequence[int], bodies: dict[int, bytes],
                 heads: dict[int, bytes]) -> int | None:
        """Ask once more, one by one, for what the server did not give; the first UID it
        still holds back, or None.

        A message the coordinator deleted meanwhile is gone and is not asked for again; one
        that is still there must not be passed over, or the checkpoint would skip it.
        """
        for uid in self._existing(uids):
            into, item, key = ((heads, "BODY.PEEK[HEADER]", b"BODY[HEADER]") if uid in large
                               else (bodies, "BODY.PEEK[]", b"BODY[]"))
            again = self._sections([uid], item, key)
            if uid not in again:
                return uid
            into.update(again)
        return None

    def _existing(self, uids: Sequence[int]) -> list[int]:
        """Which of `uids` the server still holds; NOOP first, so that expunges by other
        sessions are seen."""
        self.client.noop()
        found = self.client.search(["UID", ",".join(str(uid) for uid in uids)])
        wanted = set(uids)
        return sorted(uid for uid in found if uid in wanted)

    def move(self, uids: Sequence[int], folder: str) -> list[int]:
        """Move these UIDs, and only these, to `folder` (created if missing); the UIDs
        that were moved.

        MOVE where the server has it; otherwise COPY, flag \\Deleted and UID EXPUNGE of
        exactly these UIDs (UIDPLUS). A server with neither gets the copies and the
        \\Deleted flags but no EXPUNGE: a plain EXPUNGE would also purge whatever the
        coordinator had marked deleted, so the originals wait for the coordinator's own.
        Messages the coordinator deleted meanwhile (NO [EXPUNGEISSUED]) are left out and
        the rest moved, so one deleted application cannot stop every later move.
        """
        if not uids:
            return []
        client = self.client
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            try:
                self._transfer(uids, folder)
            except IMAPClient.AbortError:
                raise
            except IMAPClientError:
                remaining = self._existing(uids)
                if len(remaining) == len(uids):
                    raise
                self._transfer(remaining, folder)
                return list(remaining)
            return list(uids)
        except (OSError, IMAPClientError) as error:
            raise ServerUnreachable(f"{self.where}: moving to {folder!r} failed: "
                                    f"{_describe(error)}") from None

    def _transfer(self, uids: Sequence[int], folder: str) -> None:
        if not uids:
            return
        client = self.client
        if b"MOVE" in self.capabilities:
            client.move(uids, folder)
            return
        client.copy(uids, folder)
        client.add_flags(uids, [b"\\Deleted"], silent=True)
        if b"UIDPLUS" in self.capabilities:
            client.uid_expunge(uids)
        elif self.where not in _WARNED_NO_EXPUNGE:
            _WARNED_NO_EXPUNGE.add(self.where)
            log.warning("%s has neither MOVE nor UIDPLUS: applications are copied to %s and "
                        "marked deleted in %s, and left for the coordinator to expunge",
                        self.where, folder, self.settings.folder)


# Servers already reported as unable to expunge only our messages: said once per process,
# not on every cycle.
_WARNED_NO_EXPUNGE: set[str] = set()


def _login(client: IMAPClient, username: str, password: str) -> None:
    """LOGIN; credentials outside ASCII go as UTF-8 literals.

    imapclient's login() sends them through imaplib, which quotes them and encodes the
    command line as ASCII: a password with č or š raises UnicodeEncodeError before a byte
    is sent. A literal carries any octets (an astring of RFC 3501), and imapclient's
    _raw_command sends every 8-bit argument as one.
    """
    if username.isascii() and password.isascii():
        client.login(username, password)
        return
    typ, data = client._raw_command(b"LOGIN", [_astring(username), _astring(password)],
                                    uid=False)
    if typ != "OK":
        raise LoginError(_text(data[-1] if data else typ))
    # imaplib tracks the state itself and would refuse SELECT in NONAUTH.
    client._imap.state = "AUTH"


def _astring(value: str) -> bytes:
    if not value.isascii():
        return value.encode("utf-8")
    return b'"' + value.encode("ascii").replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _separator_hint(folder: str, listing: Sequence[tuple[Any, Any, Any]]) -> str:
    """Why "Prejeto/Izjave" is not found where folders nest with ".": say so."""
    separators = {_text(sep) for _flags, sep, _name in listing if sep}
    if "/" not in folder or not separators or "/" in separators:
        return ""
    separator = sorted(separators)[0]
    return (f" (this server separates folder levels with {separator!r}: "
            f"{folder.replace('/', separator)!r})")


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
