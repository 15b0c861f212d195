"""Module-level parse targets for tests/test_sandbox.py: each misbehaves in one way.

Workers import these by name ("tests.sandbox_targets:NAME"), so they must live in a module.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import struct
import time

from parsers.model import Declaration


def echo(data: bytes, filename: str | None = None) -> list[Declaration]:
    return [
        Declaration(
            {"full_name": data.decode(), "consent": True, "interests": ["web", "crisis"]},
            ("missing:email",),
            source=filename or "",
            detail="čšž",
            extra={"kind": "test", "pid": str(os.getpid())},
        )
    ]


def pid(data: bytes, filename: str | None = None) -> list[Declaration]:
    return [Declaration({}, extra={"pid": str(os.getpid())})]


def size(data: bytes, filename: str | None = None) -> list[Declaration]:
    return [Declaration({"full_name": str(len(data))}, source=filename or "")]


def sleep_forever(data: bytes, filename: str | None = None) -> list[Declaration]:
    time.sleep(3600)
    return []


def spin(data: bytes, filename: str | None = None) -> list[Declaration]:
    while True:
        pass


def hog(data: bytes, filename: str | None = None) -> list[Declaration]:
    """Grow in 64 MB steps, touching the pages, as a decompression bomb would."""
    chunks = []
    for _ in range(32):  # 2 GB
        chunks.append(bytearray(64 * 2**20))
    return [Declaration({"full_name": str(len(chunks))})]


def raises(data: bytes, filename: str | None = None) -> list[Declaration]:
    raise ValueError("bad xref table at offset 17")


def exits(data: bytes, filename: str | None = None) -> list[Declaration]:
    os._exit(3)


def segfault(data: bytes, filename: str | None = None) -> list[Declaration]:
    ctypes.string_at(0)
    return []


def huge(data: bytes, filename: str | None = None) -> list[Declaration]:
    return [Declaration({}, detail="x" * (8 * 2**20))]


def wrong_type(data: bytes, filename: str | None = None) -> object:
    return {"not": "a list"}


def by_content(data: bytes, filename: str | None = None) -> list[Declaration]:
    """Misbehave as the payload says, so one worker meets every kind of trouble."""
    actions = {b"sleep": sleep_forever, b"exit": exits, b"raise": raises, b"hog": hog}
    action = actions.get(data)
    return action(data, filename) if action else pid(data, filename)


def never_called(data: bytes, filename: str | None = None) -> list[Declaration]:
    """Leave a file at `filename`, so a test can tell that a worker ran this at all."""
    if filename:
        with open(filename, "w") as out:
            out.write("called")
    return []


def killed(data: bytes, filename: str | None = None) -> list[Declaration]:
    """Die as the kernel's OOM killer would kill it."""
    os.kill(os.getpid(), signal.SIGKILL)
    return []


def limits(data: bytes, filename: str | None = None) -> list[Declaration]:
    """Report the resource limits the worker runs under."""
    import resource

    def soft_hard(which: int) -> str:
        soft, hard = resource.getrlimit(which)
        return f"{soft}/{hard}"

    return [
        Declaration(
            {},
            extra={
                "as": soft_hard(resource.RLIMIT_AS),
                "core": soft_hard(resource.RLIMIT_CORE),
                "cpu_soft": str(resource.getrlimit(resource.RLIMIT_CPU)[0]),
                "session_leader": str(os.getsid(0) == os.getpid()),
            },
        )
    ]


def environment(data: bytes, filename: str | None = None) -> list[Declaration]:
    return [Declaration({}, extra=dict(os.environ))]


def _parent_socket() -> int:
    """The worker's end of its socketpair: as a parser taken over by a document would find it."""
    for fd in sorted(os.listdir("/proc/self/fd"), key=int):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                return int(fd)
    raise AssertionError("no socket")


def stalls_midway(data: bytes, filename: str | None = None) -> list[Declaration]:
    """Announce a 100-byte answer, send 10 bytes of it, and stop."""
    os.write(_parent_socket(), struct.pack("!Q", 100) + b"x" * 10)
    time.sleep(3600)
    return []


def forges_answer(data: bytes, filename: str | None = None) -> list[Declaration]:
    """Answer with a declaration the model does not allow, and never give the real answer."""
    forged = json.dumps({"declarations": [{"fields": {"consent": 1}}]}).encode()
    os.write(_parent_socket(), struct.pack("!Q", len(forged)) + forged)
    time.sleep(3600)
    return []


def wrapped_memory_error(data: bytes, filename: str | None = None) -> list[Declaration]:
    """As pdfplumber does: pdfminer's MemoryError re-raised as another exception."""
    try:
        raise MemoryError
    except MemoryError as exc:
        raise RuntimeError("") from exc
