"""Read hostile attachments in worker processes with a wall clock, a memory limit and a size cap.

An attachment is whatever a stranger mailed us: a PDF that makes pdfminer loop, a zip bomb
disguised as a DOCX, a file that crashes a C extension. The document parser runs in a small
pool of long-lived worker processes so that none of this can hang, exhaust or kill the
process that holds the mailbox and the database. Whatever goes wrong, `Sandbox.parse`
answers with declarations: at worst one `unreadable_attachment` declaration whose detail
says why, in words a coordinator understands.

A worker is a fresh interpreter (fork + exec), never a fork of the caller: the caller holds
database and IMAP sockets and threads, and a plain fork would copy them into the process
that reads hostile bytes. Each worker sets RLIMIT_AS (memory), RLIMIT_CORE=0 and, per
request, an RLIMIT_CPU backstop; imports the target once; then serves one request at a time
over a socketpair, in length-prefixed frames. The parent reads and writes with a deadline, so
a worker that stalls halfway through a message cannot hang it either. Answers are size-capped
JSON, never pickle: a worker that a crafted document took over must not be able to run code in
the parent by sending it a crafted pickle. The worker gets a minimal environment, so no
secret passed to the parent in an environment variable is in reach of the parser.

This bounds resources; it is not a jail. A worker runs as the same user and could read what
that user can read, so the parser libraries are still kept up to date (see pyproject.toml).

Orphans: a worker exits when its end of the socket reports EOF (the parent closed it or died),
asks the kernel for SIGKILL when the thread that started it dies (PR_SET_PDEATHSIG, Linux),
and runs in its own session so a Ctrl-C at the terminal reaches only the parent.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import importlib
import json
import math
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from parsers.model import UNREADABLE_ATTACHMENT, Declaration, FieldValue

DEFAULT_TARGET = "parsers.document:parse_document"

# A worker with pdfplumber, python-docx and pypdf imported maps about 75 MB of address space;
# below this floor it could not even start reading.
MIN_MEMORY_BYTES = 128 * 2**20

# How long a worker may take to start and import the target. Not charged to an attachment.
START_TIMEOUT_S = 30.0

# Exception messages from a parser can quote the document; keep details readable.
_DETAIL_CHARS = 300

# The only environment variables a worker inherits.
_WORKER_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "HOME")

_FRAME_HEADER = struct.Struct("!Q")

# A worker that ran out of memory outside the target exits with this code (EX_TEMPFAIL).
_EXIT_OUT_OF_MEMORY = 75

_MB = 2**20


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 20.0  # wall clock per attachment
    memory_bytes: int = 512 * _MB  # RLIMIT_AS of each worker
    max_bytes: int = 25 * _MB  # attachments larger than this are not parsed at all
    workers: int = 2
    # A worker's answer larger than this is discarded: a form holds a few kilobytes.
    max_result_bytes: int = 1 * _MB

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, not {self.timeout_s}")
        if self.memory_bytes < MIN_MEMORY_BYTES:
            raise ValueError(
                f"memory_bytes must be at least {MIN_MEMORY_BYTES // _MB} MB, "
                f"not {self.memory_bytes / _MB:g} MB"
            )
        if self.max_bytes <= 0 or self.workers < 1 or self.max_result_bytes < 1024:
            raise ValueError("max_bytes, workers and max_result_bytes must be positive")


def unreadable(source: str, detail: str) -> list[Declaration]:
    """The one declaration that says an attachment could not be read, and why."""
    return [Declaration({}, (UNREADABLE_ATTACHMENT,), source=source, detail=detail)]


class _Timeout(Exception):
    """The deadline passed while talking to a worker."""


class _TooLarge(Exception):
    """A worker announced an answer larger than allowed."""


class _Worker:
    """One worker process and the parent's end of its socketpair."""

    def __init__(self, target: str, limits: SandboxLimits) -> None:
        parent_end, child_end = socket.socketpair()
        config = {
            "fd": child_end.fileno(),
            "target": target,
            "memory_bytes": limits.memory_bytes,
            "cpu_backstop_s": 2 * limits.timeout_s + 5,
            "parent_pid": os.getpid(),
            "sys_path": [p for p in sys.path if p],
        }
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-c", _BOOTSTRAP, json.dumps(config)],
                pass_fds=(child_end.fileno(),),
                env={k: v for k, v in os.environ.items() if k in _WORKER_ENV},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # a parser's prints must not reach the CLI's output
                start_new_session=True,
            )
        except BaseException:
            parent_end.close()
            raise
        finally:
            child_end.close()
        parent_end.setblocking(False)
        self.sock = parent_end
        self.ready = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self) -> str | None:
        """None once the worker has imported the target, else why it could not start."""
        if self.ready:
            return None
        try:
            frame = self.receive(time.monotonic() + START_TIMEOUT_S, 64 * 1024)
            answer = json.loads(frame)
        except _Timeout:
            return f"the reader did not start within {START_TIMEOUT_S:g} s"
        except (EOFError, OSError, ValueError, _TooLarge):
            return f"the reader could not start ({self.describe_exit()})"
        if answer != {"ready": True}:
            message = answer.get("start_failed") if isinstance(answer, dict) else None
            return f"the reader could not start: {_clip(str(message))}"
        self.ready = True
        return None

    def send(self, frames: tuple[bytes, ...], deadline: float) -> None:
        """Write length-prefixed frames; raises _Timeout, or OSError if the worker is gone."""
        for frame in frames:
            self._write(_FRAME_HEADER.pack(len(frame)), deadline)
            self._write(frame, deadline)

    def receive(self, deadline: float, max_bytes: int) -> bytes:
        """Read one frame; raises _Timeout, _TooLarge, or EOFError if the worker is gone."""
        (size,) = _FRAME_HEADER.unpack(self._read(_FRAME_HEADER.size, deadline))
        if size > max_bytes:
            raise _TooLarge
        return self._read(size, deadline)

    def _write(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            self._wait(select.POLLOUT, deadline)
            try:
                view = view[self.sock.send(view) :]
            except BlockingIOError:
                continue

    def _read(self, size: int, deadline: float) -> bytes:
        buffer = bytearray()
        while len(buffer) < size:
            self._wait(select.POLLIN, deadline)
            try:
                chunk = self.sock.recv(min(size - len(buffer), _MB))
            except BlockingIOError:
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise EOFError
            buffer += chunk
        return bytes(buffer)

    def _wait(self, event: int, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        poller = select.poll()
        poller.register(self.sock, event)
        if remaining <= 0 or not poller.poll(remaining * 1000):
            raise _Timeout

    def describe_exit(self) -> str:
        """Why the worker ended, once its pipe reported EOF."""
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.stop()
            return "it stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            if -code == signal.SIGKILL:
                return f"it was killed by the system ({name}), probably for lack of memory"
            return f"it crashed ({name})"
        if code == _EXIT_OUT_OF_MEMORY:
            return "it ran out of memory"
        return f"it exited with code {code}"

    def stop(self, grace_s: float = 0.0) -> None:
        """End the worker and reap it; politely (EOF) within grace_s, else SIGKILL."""
        self.sock.close()
        if grace_s > 0:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace_s)
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.kill()
            self.process.wait()


@dataclass
class _Slot:
    worker: _Worker | None = None


@dataclass
class _Pool:
    slots: list[_Slot]
    idle: list[_Slot]
    closed: bool = False
    cond: threading.Condition = field(default_factory=threading.Condition)


class Sandbox:
    """A small pool of worker processes that read attachments with `target`.

    Workers start on first use and are reused; one that times out, runs out of memory or
    dies is replaced. Safe to call from several threads: each call checks out an idle
    worker, so at most `limits.workers` attachments are read at once. Use as a context
    manager, or call `close()`; workers still running at interpreter exit are stopped.
    """

    def __init__(
        self,
        limits: SandboxLimits = SandboxLimits(),  # frozen, so one shared default is safe
        target: str = DEFAULT_TARGET,
    ) -> None:
        module, _, name = target.partition(":")
        if not module or not name:
            raise ValueError(f"target must be 'module:function', not {target!r}")
        self.limits = limits
        self.target = target
        slots = [_Slot() for _ in range(limits.workers)]
        self._pool = _Pool(slots=slots, idle=list(slots))
        _open_sandboxes.add(self)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    @property
    def worker_pids(self) -> list[int]:
        """The pids of the worker processes started and not yet stopped."""
        with self._pool.cond:
            return [s.worker.pid for s in self._pool.slots if s.worker is not None]

    def parse(self, data: bytes, filename: str | None = None) -> list[Declaration]:
        """The declarations in one attachment; never raises for what the attachment holds.

        Raises RuntimeError only when called after `close()`.
        """
        source = filename or ""
        if len(data) > self.limits.max_bytes:
            return unreadable(
                source,
                f"the attachment is larger than {self.limits.max_bytes / _MB:g} MB, not read",
            )
        slot = self._checkout()
        try:
            return self._parse_in(slot, data, filename)
        finally:
            self._checkin(slot)

    def close(self) -> None:
        """Stop every worker. Idempotent."""
        pool = self._pool
        with pool.cond:
            if pool.closed:
                return
            pool.closed = True
            workers = [s.worker for s in pool.slots if s.worker is not None]
            for slot in pool.slots:
                slot.worker = None
            pool.cond.notify_all()
        for worker in workers:
            worker.stop(grace_s=1.0)
        _open_sandboxes.discard(self)

    def _checkout(self) -> _Slot:
        pool = self._pool
        with pool.cond:
            while not pool.idle and not pool.closed:
                pool.cond.wait()
            if pool.closed:
                raise RuntimeError("the sandbox is closed")
            # Last in, first out: sequential calls keep using the same warm worker.
            return pool.idle.pop()

    def _checkin(self, slot: _Slot) -> None:
        with self._pool.cond:
            self._pool.idle.append(slot)
            self._pool.cond.notify()

    def _replace(self, slot: _Slot) -> _Worker | str:
        """Stop the slot's worker, if any, and start a fresh one; else say why not."""
        old, slot.worker = slot.worker, None
        if old is not None:
            old.stop()
        with self._pool.cond:
            if self._pool.closed:
                return "the reader was shut down"
            try:
                slot.worker = _Worker(self.target, self.limits)
            except OSError as exc:  # out of processes or file descriptors: try again next time
                return _clip(f"the reader could not be started: {exc}")
            return slot.worker

    def _parse_in(self, slot: _Slot, data: bytes, filename: str | None) -> list[Declaration]:
        source = filename or ""
        limits = self.limits
        # A worker that died while idle (the kernel's OOM killer, a stray signal) is
        # replaced without charging the attachment for it.
        worker: _Worker | str | None = slot.worker
        if not isinstance(worker, _Worker) or not worker.alive():
            worker = self._replace(slot)
        if isinstance(worker, str):
            return unreadable(source, worker)
        problem = worker.wait_ready()
        if problem is not None:
            # Start lazily next time rather than respawning a target that cannot import.
            worker.stop()
            slot.worker = None
            return unreadable(source, problem)
        deadline = time.monotonic() + limits.timeout_s
        # ensure_ascii keeps a file name with undecodable bytes (lone surrogates) encodable.
        request = (json.dumps({"filename": filename}).encode(), data)
        try:
            worker.send(request, deadline)
            raw = worker.receive(deadline, limits.max_result_bytes)
        except _Timeout:
            self._replace(slot)
            return unreadable(source, f"reading took longer than {limits.timeout_s:g} s")
        except _TooLarge:
            self._replace(slot)
            return unreadable(
                source, f"the reader's answer was larger than {limits.max_result_bytes} bytes"
            )
        except (EOFError, OSError):  # OSError: a broken pipe, or close() from another thread
            return self._died(slot, worker, source)
        answer = _decode_answer(raw, source)
        if isinstance(answer, _Failure):
            if answer.restart:
                self._replace(slot)
            return unreadable(source, answer.detail)
        return answer

    def _died(self, slot: _Slot, worker: _Worker, source: str) -> list[Declaration]:
        why = worker.describe_exit()
        self._replace(slot)
        if worker.process.returncode == _EXIT_OUT_OF_MEMORY:
            return unreadable(source, _out_of_memory(self.limits.memory_bytes))
        return unreadable(source, f"the reader stopped unexpectedly: {why}")


def parse_inline(
    data: bytes, filename: str | None = None, target: str = DEFAULT_TARGET
) -> list[Declaration]:
    """Call the target in this process, without any isolation: for benchmarks only."""
    parse: Callable[[bytes, str | None], list[Declaration]] = _load_target(target)
    return parse(data, filename)


@dataclass(frozen=True)
class _Failure:
    detail: str
    restart: bool = False


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"


def _decode_answer(raw: bytes, source: str) -> list[Declaration] | _Failure:
    """Declarations from a worker's JSON answer, checked field by field: it is not trusted."""
    malformed = _Failure("the reader gave an answer that could not be understood", True)
    try:
        answer = json.loads(raw)
    except ValueError:
        return malformed
    if not isinstance(answer, dict):
        return malformed
    if "error" in answer:
        error = answer["error"]
        if not isinstance(error, dict):
            return malformed
        kind, message = str(error.get("type", "")), str(error.get("message", ""))
        if kind == "MemoryError":
            return _Failure(_out_of_memory(error.get("memory_bytes")), restart=True)
        return _Failure(
            _clip(f"reading failed: {kind}: {message}" if message else f"reading failed: {kind}")
        )
    items = answer.get("declarations")
    if not isinstance(items, list):
        return malformed
    declarations = []
    for item in items:
        declaration = _declaration_from(item, source)
        if declaration is None:
            return malformed
        declarations.append(declaration)
    return declarations


def _out_of_memory(limit: object) -> str:
    amount = f"{limit / _MB:g} MB" if isinstance(limit, int) else "the allowed amount"
    return f"reading needed more than {amount} of memory"


_DECLARATION_KEYS = {"fields", "problems", "source", "detail", "extra"}


def _declaration_from(item: object, source: str) -> Declaration | None:
    if not isinstance(item, dict) or set(item) != _DECLARATION_KEYS:
        return None
    fields, problems, extra = item["fields"], item["problems"], item["extra"]
    if not (
        isinstance(fields, dict)
        and all(isinstance(k, str) and _is_field_value(v) for k, v in fields.items())
        and isinstance(problems, list)
        and all(isinstance(p, str) for p in problems)
        and isinstance(item["source"], str)
        and isinstance(item["detail"], str)
        and isinstance(extra, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items())
    ):
        return None
    return Declaration(
        fields=cast(dict[str, FieldValue], fields),
        problems=tuple(problems),
        source=item["source"] or source,
        detail=item["detail"],
        extra=cast(dict[str, str], extra),
    )


def _is_field_value(value: object) -> bool:
    if isinstance(value, str | bool):
        return True
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _load_target(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


# --- the worker side ---------------------------------------------------------------------

# Run with `python -I -c`: no PYTHON* variables, no user site; the parent's sys.path is
# passed explicitly, as multiprocessing's spawn does, but without importing its __main__.
_BOOTSTRAP = (
    "import json, sys\n"
    "config = json.loads(sys.argv[1])\n"
    "sys.path[:] = config['sys_path']\n"
    "from intake.sandbox import _serve\n"
    "_serve(config)\n"
)


def _serve(config: dict[str, Any]) -> None:
    """The worker's main loop: limits first, then the target, then one request at a time."""
    import logging
    import resource

    _die_with_parent(int(config["parent_pid"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    memory = int(config["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # pdfminer warns about every oddity of a broken PDF; a hostile one must not flood the log.
    logging.getLogger().setLevel(logging.ERROR)

    try:
        _serve_requests(config, memory)
    except MemoryError:
        # Out of memory outside the target (receiving, answering): say so by the exit code.
        os._exit(_EXIT_OUT_OF_MEMORY)


def _serve_requests(config: dict[str, Any], memory: int) -> None:
    with (
        socket.socket(fileno=int(config["fd"])) as sock,
        contextlib.suppress(
            BrokenPipeError,
            ConnectionResetError,  # the parent closed its end: nothing to say
        ),
    ):
        try:
            target = _load_target(str(config["target"]))
        except BaseException as exc:  # reported to the parent as data
            _send_frame(sock, _dumps({"start_failed": f"{type(exc).__name__}: {exc}"}))
            return
        _send_frame(sock, _dumps({"ready": True}))
        cpu_backstop = float(config["cpu_backstop_s"])
        while True:
            header = _receive_frame(sock)
            data = _receive_frame(sock)
            if header is None or data is None:
                return  # the parent closed its end, or died
            _limit_cpu(cpu_backstop)
            filename = json.loads(header)["filename"]
            _send_frame(sock, _answer(target, data, filename, memory))


def _send_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(_FRAME_HEADER.pack(len(payload)) + payload)


def _receive_frame(sock: socket.socket) -> bytes | None:
    """One frame, or None at EOF."""
    header = _receive_exactly(sock, _FRAME_HEADER.size)
    if header is None:
        return None
    return _receive_exactly(sock, _FRAME_HEADER.unpack(header)[0])


def _receive_exactly(sock: socket.socket, size: int) -> bytes | None:
    buffer = bytearray(size)
    view, received = memoryview(buffer), 0
    while received < size:
        try:
            count = sock.recv_into(view[received:])
        except ConnectionResetError:
            return None
        if count == 0:
            return None
        received += count
    return bytes(buffer)


def _answer(target: Callable[..., object], data: bytes, filename: str | None, memory: int) -> bytes:
    failure: BaseException | None = None
    try:
        result = target(data, filename)
        return _dumps({"declarations": [_declaration_to_json(d) for d in _as_list(result)]})
    except BaseException as exc:  # an exception in the target is data
        # Nothing else here: after a MemoryError even formatting a message can fail while
        # the traceback still holds everything the parse built.
        failure = exc
    return _dumps({"error": _describe_failure(failure, memory)})


def _describe_failure(exc: BaseException, memory: int) -> dict[str, object]:
    chain = _exception_chain(exc)
    for link in chain:
        link.__traceback__ = None  # let go of the failed parse's frames and their objects
    # Libraries wrap what failed: pdfplumber turns pdfminer's MemoryError into
    # PdfminerException("").
    if any(isinstance(link, MemoryError) for link in chain):
        gc.collect()
        return {"type": "MemoryError", "memory_bytes": memory}
    return {"type": type(exc).__name__, "message": str(exc)[:1000]}


def _exception_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _as_list(result: object) -> list[Declaration]:
    if not isinstance(result, list) or not all(isinstance(d, Declaration) for d in result):
        raise TypeError(f"the target returned {type(result).__name__}, not a list of Declaration")
    return result


def _declaration_to_json(declaration: Declaration) -> dict[str, object]:
    return {
        "fields": declaration.fields,
        "problems": list(declaration.problems),
        "source": declaration.source,
        "detail": declaration.detail,
        "extra": declaration.extra,
    }


def _dumps(value: object) -> bytes:
    return json.dumps(value).encode()  # ASCII escapes: a lone surrogate in a name encodes too


def _limit_cpu(seconds: float) -> None:
    """Let this request use `seconds` more CPU time; SIGXCPU kills a spinning orphan."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this worker when the thread that started it exits."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request was in place
        os._exit(0)


# --- interpreter exit ----------------------------------------------------------------------

_open_sandboxes: weakref.WeakSet[Sandbox] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for sandbox in list(_open_sandboxes):
        sandbox.close()


__all__ = [
    "DEFAULT_TARGET",
    "MIN_MEMORY_BYTES",
    "Sandbox",
    "SandboxLimits",
    "parse_inline",
    "unreadable",
]
