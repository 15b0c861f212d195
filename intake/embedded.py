"""Real servers on loopback for `intake demo` and the tests: an IMAP mailbox and a mail sink.

Both are real protocol servers (pymap's in-memory IMAP backend, aiosmtpd), each on its own
event loop in a daemon thread, so that intake talks to them exactly as to a production
server. Nothing here is used when intake runs against a real mailbox.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (aiosmtpd's controller cannot be given port 0)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class EmbeddedImap:
    """pymap's dict backend with one user, served on host:port until stop()."""

    def __init__(
        self, user: str = "coordinator", password: str = "demo", host: str = "127.0.0.1",
        port: int | None = None,
    ) -> None:
        self.user = user
        self.password = password
        self.host = host
        self.port = port or free_port(host)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> EmbeddedImap:
        self._thread = threading.Thread(target=self._run, name="pymap", daemon=True)
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("pymap did not start within 20 s")
        if self._error:
            raise RuntimeError(f"pymap did not start: {self._error}") from self._error
        return self

    def stop(self) -> None:
        if self._loop and self._stop and self._thread:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)

    def __enter__(self) -> EmbeddedImap:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported to start(), which is waiting
            self._error = error
            self._ready.set()

    async def _serve(self) -> None:
        from pymap.backend import backends
        from pymap.main import _PymapArgumentParser
        from pymap.service import services

        parser = _PymapArgumentParser()
        subparsers = parser.add_subparsers(dest="backend")
        backend_type = backends["dict"]
        backend_type.add_subparser("dict", subparsers)
        services["imap"].add_arguments(parser)
        parser.set_defaults(passlib_cfg=None, debug=False, skip_services=[])
        args = parser.parse_args([
            "--host", self.host, "--port", str(self.port), "dict",
            "--demo-user", self.user, "--demo-password", self.password,
        ])
        backend, config = await backend_type.init(args)
        config.apply_context()
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with AsyncExitStack() as stack:
            await backend.start(stack)
            await services["imap"](backend, config).start(stack)
            self._ready.set()
            await self._stop.wait()


@dataclass
class Envelope:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed: EmailMessage = message_from_bytes(self.data, policy=policy.default)
        return parsed


@dataclass
class SinkHandler:
    """aiosmtpd handler that keeps what it receives and can be told to refuse it.

    `fail_with` answers DATA with that reply (e.g. "451 4.3.0 try later") while
    `fail_count` lasts (-1: always); tests use it for temporary and permanent failures.
    """

    envelopes: list[Envelope] = field(default_factory=list)
    save_dir: Path | None = None
    fail_with: str | None = None
    fail_count: int = 0
    received: threading.Condition = field(default_factory=threading.Condition)
    # Called with each accepted envelope (the demo uses it to deliver mail addressed to the
    # coordinator into the embedded mailbox, so any mail client can "apply").
    on_message: Callable[[Envelope], None] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail_with and self.fail_count != 0:
            self.fail_count -= 1
            return self.fail_with
        data: bytes = envelope.original_content or envelope.content
        kept = Envelope(envelope.mail_from, list(envelope.rcpt_tos), data)
        if self.on_message is not None:
            self.on_message(kept)
        with self.received:
            self.envelopes.append(kept)
            if self.save_dir:
                self.save_dir.mkdir(parents=True, exist_ok=True)
                (self.save_dir / f"{len(self.envelopes):03d}.eml").write_bytes(data)
            self.received.notify_all()
        return "250 2.0.0 OK: queued"


class MailSink:
    """An SMTP server on loopback that accepts everything and keeps it (see SinkHandler)."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None,
                 save_dir: Path | None = None) -> None:
        from aiosmtpd.controller import Controller

        self.host = host
        self.port = port or free_port(host)
        self.handler = SinkHandler(save_dir=save_dir)
        self._controller = Controller(
            self.handler, hostname=host, port=self.port, ready_timeout=20,
            # Replies carry the blank form; the default 32 MiB would do, but say it.
            data_size_limit=64 * 2**20,
        )

    @property
    def envelopes(self) -> list[Envelope]:
        return self.handler.envelopes

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Envelope]:
        """Wait until at least `count` messages arrived; returns them all."""
        with self.handler.received:
            self.handler.received.wait_for(lambda: len(self.envelopes) >= count, timeout)
        return list(self.envelopes)

    def start(self) -> MailSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def servers(save_dir: Path | None = None) -> Iterator[tuple[EmbeddedImap, MailSink]]:
    with EmbeddedImap() as imap, MailSink(save_dir=save_dir) as sink:
        yield imap, sink
