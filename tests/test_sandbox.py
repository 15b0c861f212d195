"""The sandbox against real worker processes that misbehave in every way we know of."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from intake.sandbox import MIN_MEMORY_BYTES, Sandbox, SandboxLimits
from parsers.model import Declaration

FAST = SandboxLimits(timeout_s=0.5, memory_bytes=256 * 2**20, max_bytes=1000, workers=1)


def target(name: str) -> str:
    return f"tests.sandbox_targets:{name}"


def unreadable(source: str, detail: str) -> list[Declaration]:
    return [Declaration({}, ("unreadable_attachment",), source=source, detail=detail)]


def gone(pid: int) -> bool:
    """True once `pid` no longer exists (or is a zombie nobody will run again)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return "\nState:\tZ" in status


def wait_gone(pid: int, within_s: float = 2.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.02)
    return gone(pid)


def vm_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.fixture
def by_content() -> Iterator[Sandbox]:
    with Sandbox(FAST, target("by_content")) as sandbox:
        yield sandbox


def test_a_result_round_trips_through_the_worker() -> None:
    with Sandbox(FAST, target("echo")) as sandbox:
        [declaration] = sandbox.parse("Žiga Novak".encode(), "izjava.pdf")

    assert declaration == Declaration(
        {"full_name": "Žiga Novak", "consent": True, "interests": ["web", "crisis"]},
        ("missing:email",),
        source="izjava.pdf",
        detail="čšž",
        extra={"kind": "test", "pid": declaration.extra["pid"]},
    )
    assert int(declaration.extra["pid"]) != os.getpid()


def test_sequential_parses_reuse_one_worker() -> None:
    limits = SandboxLimits(timeout_s=1.0, memory_bytes=256 * 2**20, workers=2)
    with Sandbox(limits, target("pid")) as sandbox:
        pids = {sandbox.parse(b"x", "a.pdf")[0].extra["pid"] for _ in range(20)}

        assert len(pids) == 1
        assert sandbox.worker_pids == [int(pids.pop())]


def test_a_timeout_answers_within_the_limit_and_the_next_call_gets_a_fresh_worker(
    by_content: Sandbox,
) -> None:
    [before] = by_content.parse(b"ok")

    started = time.monotonic()
    result = by_content.parse(b"sleep", "slow.pdf")
    elapsed = time.monotonic() - started

    assert result == unreadable("slow.pdf", "reading took longer than 0.5 s")
    assert 0.5 <= elapsed < 1.5
    assert wait_gone(int(before.extra["pid"]))
    [after] = by_content.parse(b"ok")
    assert after.extra["pid"] != before.extra["pid"]


def test_a_cpu_spin_is_stopped_at_the_timeout() -> None:
    with Sandbox(FAST, target("spin")) as sandbox:
        started = time.monotonic()
        result = sandbox.parse(b"", "loop.pdf")
        pid = None if not sandbox.worker_pids else sandbox.worker_pids[0]

    assert result == unreadable("loop.pdf", "reading took longer than 0.5 s")
    assert time.monotonic() - started < 1.5
    assert pid is not None  # a replacement was started, and close() stopped it
    assert wait_gone(pid)


def test_a_memory_hog_is_unreadable_and_the_parent_stays_small(by_content: Sandbox) -> None:
    [before] = by_content.parse(b"ok")
    rss_before = vm_rss_kb()

    result = by_content.parse(b"hog", "bomb.docx")

    assert result == unreadable("bomb.docx", "reading needed more than 256 MB of memory")
    assert vm_rss_kb() - rss_before < 20 * 1024
    [after] = by_content.parse(b"ok")
    assert after.extra["pid"] != before.extra["pid"]  # restarted after MemoryError


def test_a_memory_error_wrapped_by_the_library_is_still_reported_as_memory() -> None:
    with Sandbox(FAST, target("wrapped_memory_error")) as sandbox:
        result = sandbox.parse(b"", "a.pdf")

    assert result == unreadable("a.pdf", "reading needed more than 256 MB of memory")


def test_a_file_name_that_is_not_valid_unicode_round_trips() -> None:
    name = "izjava-\udcff.pdf"  # as the email package decodes a mangled name
    with Sandbox(FAST, target("echo")) as sandbox:
        [declaration] = sandbox.parse(b"x", name)

    assert (declaration.source, declaration.problems) == (name, ("missing:email",))


def test_a_worker_that_exits_is_replaced(by_content: Sandbox) -> None:
    [before] = by_content.parse(b"ok")

    result = by_content.parse(b"exit", "a.pdf")

    assert result == unreadable("a.pdf", "the reader stopped unexpectedly: it exited with code 3")
    [after] = by_content.parse(b"ok")
    assert after.extra["pid"] != before.extra["pid"]


def test_the_worker_runs_under_its_limits() -> None:
    with Sandbox(FAST, target("limits")) as sandbox:
        [declaration] = sandbox.parse(b"", None)

    extra = declaration.extra
    assert extra["as"] == f"{256 * 2**20}/{256 * 2**20}"
    assert extra["core"] == "0/0"
    assert 0 < int(extra["cpu_soft"]) <= 2 * 0.5 + 5 + 1  # backstop: 2 x timeout + 5 s
    assert extra["session_leader"] == "True"  # a Ctrl-C at the terminal does not reach it


def test_the_worker_sees_no_secrets_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_IMAP_PASSWORD", "hunter2")
    with Sandbox(FAST, target("environment")) as sandbox:
        [declaration] = sandbox.parse(b"", None)

    assert "INTAKE_IMAP_PASSWORD" not in declaration.extra
    assert set(declaration.extra) <= {"PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "HOME"}


def test_a_worker_killed_by_the_kernel_is_replaced() -> None:
    with Sandbox(FAST, target("killed")) as sandbox:
        first = sandbox.parse(b"", "a.pdf")
        second = sandbox.parse(b"", "a.pdf")

    expected = unreadable(
        "a.pdf",
        "the reader stopped unexpectedly: it was killed by the system (SIGKILL), "
        "probably for lack of memory",
    )
    assert first == expected
    assert second == expected


def test_a_segfault_is_unreadable() -> None:
    with Sandbox(FAST, target("segfault")) as sandbox:
        first = sandbox.parse(b"", "crash.pdf")
        second = sandbox.parse(b"", "crash.pdf")

    expected = unreadable("crash.pdf", "the reader stopped unexpectedly: it crashed (SIGSEGV)")
    assert first == expected
    assert second == expected


def test_an_exception_in_the_parser_becomes_the_detail(by_content: Sandbox) -> None:
    [before] = by_content.parse(b"ok")

    result = by_content.parse(b"raise", None)

    assert result == unreadable("", "reading failed: ValueError: bad xref table at offset 17")
    [after] = by_content.parse(b"ok")
    assert after.extra["pid"] == before.extra["pid"]  # an exception does not cost a worker


def test_an_oversize_attachment_never_reaches_a_worker(tmp_path: Path) -> None:
    marker = tmp_path / "called"
    limits = SandboxLimits(timeout_s=1.0, memory_bytes=256 * 2**20, max_bytes=3 * 2**20)
    with Sandbox(limits, target("never_called")) as sandbox:
        result = sandbox.parse(b"x" * (3 * 2**20 + 1), str(marker))
        pids = sandbox.worker_pids
        # The marker target does write its file when it is called.
        sandbox.parse(b"x", str(tmp_path / "small"))

    assert result == unreadable(str(marker), "the attachment is larger than 3 MB, not read")
    assert pids == []
    assert not marker.exists()
    assert (tmp_path / "small").read_text() == "called"


def test_an_attachment_of_exactly_the_limit_is_read() -> None:
    with Sandbox(FAST, target("size")) as sandbox:
        assert sandbox.parse(b"x" * 1000, "edge.pdf") == [
            Declaration({"full_name": "1000"}, source="edge.pdf")
        ]


def test_a_huge_answer_is_discarded() -> None:
    with Sandbox(FAST, target("huge")) as sandbox:
        result = sandbox.parse(b"", "many.pdf")

    assert result == unreadable("many.pdf", "the reader's answer was larger than 1048576 bytes")


def test_a_worker_that_stalls_halfway_through_its_answer_times_out() -> None:
    with Sandbox(FAST, target("stalls_midway")) as sandbox:
        started = time.monotonic()
        result = sandbox.parse(b"", "a.pdf")

    assert result == unreadable("a.pdf", "reading took longer than 0.5 s")
    assert time.monotonic() - started < 1.5


def test_a_forged_answer_is_refused_and_the_worker_replaced() -> None:
    with Sandbox(FAST, target("forges_answer")) as sandbox:
        result = sandbox.parse(b"", "a.pdf")
        [first_pid] = sandbox.worker_pids
        sandbox.parse(b"", "a.pdf")
        [second_pid] = sandbox.worker_pids

    assert result == unreadable("a.pdf", "the reader gave an answer that could not be understood")
    assert first_pid != second_pid


def test_an_answer_of_the_wrong_type_is_unreadable() -> None:
    with Sandbox(FAST, target("wrong_type")) as sandbox:
        result = sandbox.parse(b"", "odd.pdf")

    assert result == unreadable(
        "odd.pdf", "reading failed: TypeError: the target returned dict, not a list of Declaration"
    )


def test_a_target_that_cannot_be_imported_is_unreadable_not_an_error() -> None:
    with Sandbox(FAST, target("no_such_function")) as sandbox:
        result = sandbox.parse(b"", "a.pdf")

    assert result == unreadable(
        "a.pdf",
        "the reader could not start: AttributeError: module 'tests.sandbox_targets' "
        "has no attribute 'no_such_function'",
    )


def test_no_worker_outlives_close() -> None:
    limits = SandboxLimits(timeout_s=0.5, memory_bytes=256 * 2**20, workers=2)
    sandbox = Sandbox(limits, target("sleep_forever"))
    sandbox.parse(b"", "a.pdf")  # times out: the worker is killed and a fresh one started
    pids = sandbox.worker_pids
    assert len(pids) == 1
    assert not gone(pids[0])

    sandbox.close()
    sandbox.close()

    assert all(wait_gone(pid) for pid in pids)
    with pytest.raises(RuntimeError, match="closed"):
        sandbox.parse(b"", "late.pdf")


def test_workers_serve_parallel_callers() -> None:
    from concurrent.futures import ThreadPoolExecutor

    limits = SandboxLimits(timeout_s=5.0, memory_bytes=256 * 2**20, workers=2)
    with Sandbox(limits, target("pid")) as sandbox, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: sandbox.parse(b"x", f"{i}.pdf"), range(8)))
        pids = set(sandbox.worker_pids)

    assert len(pids) <= 2
    assert {int(r[0].extra["pid"]) for r in results} <= pids


def test_limits_below_the_floor_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 128 MB"):
        SandboxLimits(memory_bytes=MIN_MEMORY_BYTES - 1)


def test_a_target_not_named_module_colon_function_is_refused() -> None:
    with pytest.raises(ValueError, match="module:function"):
        Sandbox(FAST, "tests.sandbox_targets.echo")


PARENT_THAT_DIES = """
import os, signal, sys, threading, time
sys.path[:0] = [{root!r}]
from intake.sandbox import Sandbox, SandboxLimits
sandbox = Sandbox(SandboxLimits(timeout_s=60), "tests.sandbox_targets:sleep_forever")
threading.Thread(target=sandbox.parse, args=(b"", "a.pdf"), daemon=True).start()
while not sandbox.worker_pids:
    time.sleep(0.01)
print(sandbox.worker_pids[0], flush=True)
time.sleep(0.3)  # let the worker get into the target
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_workers_die_with_a_parent_that_is_killed() -> None:
    import subprocess
    import sys

    root = str(Path(__file__).resolve().parent.parent)
    parent = subprocess.run(
        [sys.executable, "-c", PARENT_THAT_DIES.format(root=root)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert parent.returncode == -9, parent.stderr
    assert wait_gone(int(parent.stdout))
