"""The IMAP adapter against habits of real servers: folder names outside ASCII, no MOVE or
no UIDPLUS, mail deleted by the coordinator mid-cycle, UID gaps, read-only selection,
passwords outside ASCII, INTERNALDATE in other zones, a cut session, PREAUTH and a silent
greeting.

Every server here is real (pymap, Dovecot); where a habit cannot be configured, a proxy in
front of Dovecot edits whole responses (hides capabilities, logs in for the client, answers
BODY[] NIL) and passes everything else through.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from intake.config import MailboxSettings, parse_settings
from intake.embedded import EmbeddedImap
from intake.errors import MailboxError, ServerUnreachable
from intake.mailbox import Mailbox, RawMessage
from tests.messages import build
from tests.servers import Dovecot, ImapAccount, LoopbackProxy


def settings_for(account: ImapAccount, folder: str = "INBOX", *, security: str = "none",
                 timeout: float = 10) -> MailboxSettings:
    """The account as intake's config would give it, the password escaped as TOML wants."""
    password = account.password.replace("\\", "\\\\").replace('"', '\\"')
    return parse_settings(
        f'[mailbox]\nhost = "{account.host}"\nport = {account.port}\n'
        f'security = "{security}"\nusername = "{account.user}"\npassword = "{password}"\n'
        f'folder = "{folder}"\ntimeout = {timeout}\n', "test").mailbox


def message(n: int, subject: str = "Izjava o pristopu") -> bytes:
    return build(subject=f"{subject} {n}", message_id=f"<quirk-{n}@kranj.si>")


def fill(account: ImapAccount, count: int, folder: str = "INBOX") -> list[int]:
    """APPEND `count` messages; their UIDs."""
    with account.client() as client:
        for n in range(count):
            client.append(folder, message(n))
        client.select_folder(folder, readonly=True)
        uids: list[int] = client.search(["ALL"])
    return uids


def fetch_all(mailbox: Mailbox, after: int = 0) -> list[RawMessage]:
    return [raw for group in mailbox.fetch_groups(mailbox.uids_after(after), 2**20)
            for raw in group]


def flags(account: ImapAccount, folder: str = "INBOX") -> dict[int, set[bytes]]:
    with account.client() as client:
        client.select_folder(folder, readonly=True)
        found = client.fetch(client.search(["ALL"]), ["FLAGS"])
    return {uid: set(item[b"FLAGS"]) - {b"\\Recent"} for uid, item in found.items()}


_USERS = itertools.count(1)


def dovecot_user(server: Dovecot, password: str) -> ImapAccount:
    """A Dovecot user with this password, added to the test server's passwd file."""
    user = f"quirk{next(_USERS)}"
    path = server.root / "passwd"
    before = path.stat().st_mtime
    with path.open("a", encoding="utf-8") as out:
        out.write(f"{user}:{{PLAIN}}{password}\n")
    # Dovecot re-reads the file when its mtime changes, which within one second it may not,
    # and looks at it at most once a second.
    os.utime(path, (before + 1, before + 1))
    time.sleep(1.1)
    return ImapAccount("dovecot", "127.0.0.1", server.port, user, password)


# --- a proxy that edits whole server responses ---------------------------------------------

_LITERAL_AT_END = re.compile(rb"\{(\d+)\}\Z")


def _split(buffer: bytes) -> tuple[bytes, bytes] | None:
    """The first complete response in `buffer` (literals included) and the rest."""
    position = 0
    while True:
        end = buffer.find(b"\r\n", position)
        if end < 0:
            return None
        literal = _LITERAL_AT_END.search(buffer[position:end])
        if literal is None:
            return buffer[:end + 2], buffer[end + 2:]
        position = end + 2 + int(literal.group(1))
        if position > len(buffer):
            return None


class EditingProxy(LoopbackProxy):
    """Forwards to a real IMAP server; `edit` may change each whole response it sends back.
    With `preauth_as`, the proxy logs in itself and greets the client with PREAUTH."""

    def __init__(self, account: ImapAccount, edit: Callable[[bytes], bytes] = lambda r: r,
                 preauth_as: ImapAccount | None = None) -> None:
        self.edit = edit
        self.preauth_as = preauth_as
        super().__init__(account.host, account.port)

    def relay(self, client: socket.socket, server: socket.socket) -> None:
        threading.Thread(target=self._serve, args=(client, server), daemon=True).start()

    def _serve(self, client: socket.socket, server: socket.socket) -> None:
        try:
            rest = b""
            if self.preauth_as is not None:
                _greeting, rest = self._read(server, rest)
                user = self.preauth_as
                server.sendall(f'p1 LOGIN "{user.user}" "{user.password}"\r\n'.encode())
                while True:
                    response, rest = self._read(server, rest)
                    if response.startswith(b"p1 "):
                        break
                assert response.startswith(b"p1 OK"), response
                client.sendall(b"* PREAUTH logged in by the proxy\r\n")
            threading.Thread(target=self._upstream, args=(client, server), daemon=True).start()
            while True:
                response, rest = self._read(server, rest)
                client.sendall(self.edit(response))
        except (OSError, EOFError):
            pass
        finally:
            for end in (client, server):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    @staticmethod
    def _read(source: socket.socket, buffer: bytes) -> tuple[bytes, bytes]:
        while (found := _split(buffer)) is None:
            data = source.recv(65536)
            if not data:
                raise EOFError
            buffer += data
        return found

    @staticmethod
    def _upstream(client: socket.socket, server: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                server.sendall(data)
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_WR)


def hiding(*names: bytes) -> Callable[[bytes], bytes]:
    """An edit that removes these capabilities wherever the server lists its capabilities."""
    pattern = re.compile(rb"(?<= )(?:" + b"|".join(map(re.escape, names)) + rb")(?=[ \]\r])")

    def edit(response: bytes) -> bytes:
        if b"CAPABILITY" not in response.split(b"\r\n", 1)[0].upper():
            return response
        return re.sub(rb"  +", b" ", pattern.sub(b"", response))
    return edit


@pytest.fixture
def proxies() -> Iterator[list[EditingProxy]]:
    made: list[EditingProxy] = []
    yield made
    for proxy in made:
        proxy.close()


# --- 1. folder names outside ASCII -----------------------------------------------------------


def test_folder_names_outside_ascii_both_ways(imap_account: ImapAccount) -> None:
    """GIVEN an inbox folder "Prejeto<sep>Izjave č" holding two messages
    WHEN intake reads it and moves one to "Obdelane izjave – 2021" (created by intake)
    THEN both names travel as modified UTF-7 and come back as written."""
    with imap_account.client() as client:
        separator = client.list_folders()[0][1].decode()
        folder = f"Prejeto{separator}Izjave č"
        client.create_folder(folder)
    fill(imap_account, 2, folder)
    with Mailbox(settings_for(imap_account, folder), writable=True) as mailbox:
        read = fetch_all(mailbox)
        assert [raw.raw is not None for raw in read] == [True, True]
        mailbox.move([read[0].uid], "Obdelane izjave – 2021")
    with imap_account.client() as client:
        names = {name for _flags, _sep, name in client.list_folders()}
        assert {folder, "Obdelane izjave – 2021"} <= names
        client.select_folder("Obdelane izjave – 2021", readonly=True)
        assert len(client.search(["ALL"])) == 1


@pytest.mark.dovecot
def test_a_slash_path_on_a_server_that_nests_with_dots_is_explained(
    dovecot_account: ImapAccount,
) -> None:
    """GIVEN Dovecot (folders nest with ".") holding "Prejeto.Izjave č"
    WHEN the config names "Prejeto/Izjave č", as a mail client shows it
    THEN the error lists the folders readably and says which name the server knows."""
    with dovecot_account.client() as client:
        client.create_folder("Prejeto.Izjave č")
    mailbox = Mailbox(settings_for(dovecot_account, "Prejeto/Izjave č"))
    with pytest.raises(MailboxError) as raised:
        mailbox.open()
    with pytest.raises(MailboxError, match="not open"):  # the session was logged out
        _ = mailbox.client
    text = str(raised.value)
    assert "folder 'Prejeto/Izjave č' cannot be opened" in text
    assert "the folders are: INBOX, Prejeto, Prejeto.Izjave č" in text
    assert text.endswith("(this server separates folder levels with '.': 'Prejeto.Izjave č')")


# --- 2. no MOVE, no UIDPLUS -----------------------------------------------------------------


def _coordinator_deleted(account: ImapAccount) -> int:
    """A message of the coordinator's own, flagged \\Deleted and not yet expunged; its UID."""
    with account.client() as client:
        client.append("INBOX", message(99, "Osebno"), flags=[b"\\Deleted"])
        client.select_folder("INBOX", readonly=True)
        uid: int = max(client.search(["ALL"]))
    return uid


@pytest.mark.dovecot
def test_without_move_only_our_uids_are_expunged(dovecot_account: ImapAccount,
                                                  proxies: list[EditingProxy]) -> None:
    """GIVEN a server that offers UIDPLUS but not MOVE, and a message the coordinator marked
    deleted
    WHEN intake moves two applications
    THEN they are copied and expunged by UID, and the coordinator's message is still there."""
    ours = fill(dovecot_account, 3)
    theirs = _coordinator_deleted(dovecot_account)
    proxies.append(proxy := EditingProxy(dovecot_account, hiding(b"MOVE")))
    with Mailbox(settings_for(proxy.account(dovecot_account)), writable=True) as mailbox:
        assert b"MOVE" not in mailbox.capabilities and b"UIDPLUS" in mailbox.capabilities
        mailbox.move(ours[:2], "Obdelane")
    left = flags(dovecot_account)
    assert sorted(left) == [ours[2], theirs]
    assert left[theirs] == {b"\\Deleted"} and left[ours[2]] == set()
    assert len(flags(dovecot_account, "Obdelane")) == 2


@pytest.mark.dovecot
def test_without_move_or_uidplus_nothing_is_expunged(
    dovecot_account: ImapAccount, proxies: list[EditingProxy], caplog: pytest.LogCaptureFixture,
) -> None:
    """GIVEN a server with neither MOVE nor UIDPLUS, and a message the coordinator marked
    deleted
    WHEN intake moves applications in two sessions
    THEN they are copied and only they are flagged \\Deleted; nothing is expunged, no other
    flag changes, and the log says so once."""
    ours = fill(dovecot_account, 4)
    theirs = _coordinator_deleted(dovecot_account)
    proxies.append(proxy := EditingProxy(dovecot_account, hiding(b"MOVE", b"UIDPLUS")))
    settings = settings_for(proxy.account(dovecot_account))
    with caplog.at_level(logging.WARNING, logger="intake.mailbox"):
        with Mailbox(settings, writable=True) as mailbox:
            assert not {b"MOVE", b"UIDPLUS"} & mailbox.capabilities
            mailbox.move(ours[:1], "Obdelane")
        with Mailbox(settings, writable=True) as mailbox:
            mailbox.move(ours[1:3], "Obdelane")
    assert flags(dovecot_account) == {ours[0]: {b"\\Deleted"}, ours[1]: {b"\\Deleted"},
                                      ours[2]: {b"\\Deleted"}, ours[3]: set(),
                                      theirs: {b"\\Deleted"}}
    assert len(flags(dovecot_account, "Obdelane")) == 3
    warnings = [r.getMessage() for r in caplog.records if "neither MOVE nor UIDPLUS" in
                r.getMessage()]
    assert len(warnings) == 1
    assert "left for the coordinator to expunge" in warnings[0]


# --- 3. the coordinator deletes mail while a cycle runs ------------------------------------


def test_mail_deleted_between_search_and_fetch_is_skipped(imap_account: ImapAccount) -> None:
    uids = fill(imap_account, 5)
    with Mailbox(settings_for(imap_account)) as mailbox:
        found = mailbox.uids_after(0)
        with imap_account.client() as coordinator:
            coordinator.select_folder("INBOX")
            coordinator.delete_messages(uids[1:3])
            coordinator.uid_expunge(uids[1:3])
        read = [raw for group in mailbox.fetch_groups(found, 2**20) for raw in group]
    assert [raw.uid for raw in read] == [uids[0], *uids[3:]]
    assert all(raw.raw for raw in read)


class _DeleteBeforeBodies:
    """Runs the coordinator's delete on the real server just before the body FETCH."""

    def __init__(self, mailbox: Mailbox, account: ImapAccount, doomed: list[int]) -> None:
        self.fetch = mailbox.client.fetch
        self.account, self.doomed, self.done = account, doomed, False

    def __call__(self, uids: list[int], items: list[str]) -> object:
        if items == ["BODY.PEEK[]"] and not self.done:
            self.done = True
            with self.account.client() as coordinator:
                coordinator.select_folder("INBOX")
                coordinator.delete_messages(self.doomed)
                coordinator.uid_expunge(self.doomed)
        return self.fetch(uids, items)


def test_mail_deleted_between_the_two_fetches_is_skipped(imap_account: ImapAccount) -> None:
    """GIVEN five new messages
    WHEN the coordinator deletes two of them after intake read their sizes but before it
    downloads them (Dovecot then answers BODY[] NIL for them)
    THEN the other three are read whole, and no error is raised. (pymap still serves the
    deleted two from this session's snapshot, which IMAP allows.)"""
    uids = fill(imap_account, 5)
    with Mailbox(settings_for(imap_account)) as mailbox:
        mailbox.client.fetch = _DeleteBeforeBodies(mailbox, imap_account, uids[1:3])
        read = fetch_all(mailbox)
    expected = uids if imap_account.kind == "pymap" else [uids[0], *uids[3:]]
    assert [raw.uid for raw in read] == expected
    assert all(raw.raw for raw in read)


@pytest.mark.dovecot
def test_a_body_the_server_withholds_holds_the_checkpoint(
    dovecot_account: ImapAccount, proxies: list[EditingProxy],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """GIVEN a server that answers BODY[] NIL for a message it still holds
    WHEN intake fetches four new messages
    THEN it yields those before that message and nothing after it, so the checkpoint stays
    below it and the next cycle asks again; a later batch of the same session is held too."""
    uids = fill(dovecot_account, 4)
    withheld = uids[1]

    def nil_body(response: bytes) -> bytes:
        first = response.split(b"\r\n", 1)[0]
        if not re.search(rb"\bUID %d\b" % withheld, first):
            return response
        literal = re.search(rb"BODY\[\] \{(\d+)\}\r\n", response)
        if literal is None:
            return response
        end = literal.end() + int(literal.group(1))
        return response[:literal.start()] + b"BODY[] NIL" + response[end:]

    proxies.append(proxy := EditingProxy(dovecot_account, nil_body))
    with (Mailbox(settings_for(proxy.account(dovecot_account))) as mailbox,
          caplog.at_level(logging.WARNING, logger="intake.mailbox")):
        first = [raw.uid for g in mailbox.fetch_groups(uids[:3], 2**20) for raw in g]
        later = [raw.uid for g in mailbox.fetch_groups(uids[3:], 2**20) for raw in g]
    assert (first, later) == ([uids[0]], [])
    assert f"no content for UID {withheld}" in caplog.text
    with Mailbox(settings_for(dovecot_account)) as mailbox:  # the server gives it again
        assert [raw.uid for raw in fetch_all(mailbox, uids[0])] == uids[1:]


@pytest.mark.dovecot
def test_applications_the_coordinator_deleted_do_not_stop_the_move(
    dovecot_account: ImapAccount,
) -> None:
    """GIVEN three decided applications, one of which the coordinator deletes meanwhile
    WHEN intake moves all three (Dovecot answers NO [EXPUNGEISSUED])
    THEN the other two are moved, no error is raised, and move() says which two."""
    uids = fill(dovecot_account, 3)
    with Mailbox(settings_for(dovecot_account), writable=True) as mailbox:
        with dovecot_account.client() as coordinator:
            coordinator.select_folder("INBOX")
            coordinator.delete_messages(uids[:1])
            coordinator.uid_expunge(uids[:1])
        assert mailbox.move(uids, "Obdelane") == uids[1:]
    assert flags(dovecot_account) == {}
    assert len(flags(dovecot_account, "Obdelane")) == 2


# --- 4. UIDs, read-only selection ------------------------------------------------------------


def test_uid_gaps_and_the_star_quirk(imap_account: ImapAccount) -> None:
    """UIDs with gaps (pymap's also start at 101): only those above the checkpoint, and
    `n:*` past the highest UID matches nothing."""
    uids = fill(imap_account, 5)
    with imap_account.client() as client:
        client.select_folder("INBOX")
        client.delete_messages(uids[1:4])
        client.uid_expunge(uids[1:4])
    with Mailbox(settings_for(imap_account)) as mailbox:
        assert mailbox.uids_after(uids[0]) == [uids[4]]
        assert mailbox.uids_after(uids[4]) == []
        assert mailbox.uids_after(uids[4] + 1000) == []


def test_reading_without_moving_changes_no_flag(imap_account: ImapAccount) -> None:
    uids = fill(imap_account, 3)
    with imap_account.client() as client:
        client.select_folder("INBOX")
        client.add_flags(uids[:1], [b"\\Flagged"])
    before = flags(imap_account)
    with Mailbox(settings_for(imap_account)) as mailbox:
        assert len(fetch_all(mailbox)) == 3
        assert mailbox.client.folder_status("INBOX", ["UNSEEN"])[b"UNSEEN"] == 3
    assert flags(imap_account) == before
    assert all(b"\\Seen" not in found for found in before.values())


# --- 5. passwords ----------------------------------------------------------------------------

PASSWORDS = ["geslo-čš", 'ge"sl\\o', 'č"\\š x']


@pytest.mark.dovecot
@pytest.mark.parametrize("password", PASSWORDS)
def test_passwords_outside_ascii_and_with_quotes_on_dovecot(dovecot_server: Dovecot,
                                                            password: str) -> None:
    account = dovecot_user(dovecot_server, password)
    with Mailbox(settings_for(account)) as mailbox:
        assert mailbox.uids_after(0) == []
    with pytest.raises(ServerUnreachable, match=f"login as '{account.user}' refused"):
        Mailbox(settings_for(replace(account, password=password + "č"))).open()


@pytest.mark.parametrize("password", PASSWORDS)
def test_passwords_outside_ascii_and_with_quotes_on_pymap(password: str) -> None:
    with EmbeddedImap(user="koordinatorka", password=password) as server:
        account = ImapAccount("pymap", server.host, server.port, server.user, password)
        with Mailbox(settings_for(account)) as mailbox:
            assert mailbox.uids_after(0) == []


# --- 6. INTERNALDATE in other zones ----------------------------------------------------------


def test_internaldate_in_other_zones_keeps_the_instant(imap_account: ImapAccount) -> None:
    """Received 9 Feb 2021 23:30 in Ljubljana, written as +05:30 and as -08:00: the same
    instant comes back, so the deadline of 9 Feb 23:59:59 CET is met by both."""
    instant = datetime(2021, 2, 9, 22, 30, tzinfo=UTC)
    zones = [timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
    with imap_account.client() as client:
        for n, zone in enumerate(zones):
            client.append("INBOX", message(n), msg_time=instant.astimezone(zone))
    deadline = datetime(2021, 2, 9, 23, 59, 59, tzinfo=timezone(timedelta(hours=1)))
    with Mailbox(settings_for(imap_account)) as mailbox:
        read = fetch_all(mailbox)
    assert [raw.internaldate for raw in read] == [instant, instant]
    assert all(raw.internaldate <= deadline for raw in read)


# --- 7. sessions that end, greetings that differ --------------------------------------------


@pytest.mark.dovecot
def test_a_session_the_server_ends_is_unreachable(dovecot_server: Dovecot,
                                                  dovecot_account: ImapAccount) -> None:
    fill(dovecot_account, 1)
    with Mailbox(settings_for(dovecot_account)) as mailbox:
        subprocess.run(["doveadm", "-c", str(dovecot_server.root / "dovecot.conf"), "kick",
                        dovecot_account.user], check=True, capture_output=True)
        time.sleep(0.3)
        with pytest.raises(ServerUnreachable, match=r"^IMAP 127\.0\.0\.1:\d+: SEARCH failed"):
            mailbox.uids_after(0)


@pytest.mark.dovecot
def test_a_preauth_greeting_skips_login(dovecot_account: ImapAccount,
                                        proxies: list[EditingProxy]) -> None:
    """GIVEN a server that greets with PREAUTH (already logged in)
    WHEN intake opens the mailbox
    THEN it does not send LOGIN (refused in that state) and reads the mail; over STARTTLS
    it refuses, since TLS can no longer be started."""
    fill(dovecot_account, 2)
    proxies.append(proxy := EditingProxy(dovecot_account, preauth_as=dovecot_account))
    behind = proxy.account(replace(dovecot_account, password="not-asked"))
    with Mailbox(settings_for(behind)) as mailbox:
        assert len(fetch_all(mailbox)) == 2
    with pytest.raises(ServerUnreachable, match="PREAUTH, so STARTTLS is impossible"):
        Mailbox(settings_for(behind, security="starttls")).open()


def test_a_silent_greeting_times_out() -> None:
    """A server that accepts the connection and never greets: the timeout applies."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        account = ImapAccount("silent", "127.0.0.1", port, "x", "y")
        started = time.monotonic()
        with pytest.raises(ServerUnreachable, match=f"^IMAP 127.0.0.1:{port}: timed out$"):
            Mailbox(settings_for(account, timeout=1)).open()
        assert time.monotonic() - started < 5
