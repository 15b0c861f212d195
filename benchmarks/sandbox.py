"""What isolation costs per attachment: the sandbox against calling the parser in-process.

Run from the repository root:  python benchmarks/sandbox.py [--calls N] [--pdf FILE]

Prints the median milliseconds per call for a trivial target and for a ~100 KB payload
(and, with --pdf, for the real document parser on that file), in-process and sandboxed,
with the difference and the ratio. The budget is 50 ms of isolation per attachment.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from intake.sandbox import DEFAULT_TARGET, Sandbox, SandboxLimits, parse_inline  # noqa: E402
from parsers.model import Declaration  # noqa: E402

BUDGET_MS = 50.0
HERE = "benchmarks.sandbox"


def trivial(data: bytes, filename: str | None = None) -> list[Declaration]:
    return [Declaration({"consent": False}, source=filename or "")]


def checksum(data: bytes, filename: str | None = None) -> list[Declaration]:
    """Touch every byte, so the payload is really received and read."""
    return [Declaration({"full_name": str(sum(data[::64]))}, source=filename or "")]


def median_ms(call: Callable[[], object], calls: int) -> float:
    call()  # warm: imports, the worker's start
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def compare(label: str, target: str, data: bytes, filename: str, calls: int) -> bool:
    inline = median_ms(lambda: parse_inline(data, filename, target), calls)
    with Sandbox(SandboxLimits(workers=1), target) as sandbox:
        isolated = median_ms(lambda: sandbox.parse(data, filename), calls)
    overhead = isolated - inline
    ratio = isolated / inline if inline > 0 else float("inf")
    within = overhead <= BUDGET_MS
    print(
        f"{label:<28} {len(data):>9} B  in-process {inline:8.3f} ms  sandboxed {isolated:8.3f} ms"
        f"  overhead {overhead:7.3f} ms  ratio {ratio:8.1f}x  {'ok' if within else 'OVER BUDGET'}"
    )
    return within


def cold_start_ms(target: str, starts: int) -> float:
    """A new worker's first answer: what replacing a killed worker costs."""
    times = []
    for _ in range(starts):
        started = time.perf_counter()
        with Sandbox(SandboxLimits(workers=1), target) as sandbox:
            sandbox.parse(b"", "a.pdf")
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--pdf", type=Path, help="a document for the real parser")
    args = parser.parse_args()

    within = compare("trivial target", f"{HERE}:trivial", b"", "a.pdf", args.calls)
    payload = bytes(range(256)) * 400  # 102 400 bytes
    within &= compare("~100 KB payload", f"{HERE}:checksum", payload, "a.pdf", args.calls)
    if args.pdf:
        data = args.pdf.read_bytes()
        within &= compare(
            f"{DEFAULT_TARGET.split(':')[0]} ({args.pdf.name})",
            DEFAULT_TARGET,
            data,
            args.pdf.name,
            max(args.calls // 10, 5),
        )
    print(
        f"worker start, trivial target: {cold_start_ms(f'{HERE}:trivial', 5):.1f} ms (median of 5)"
    )
    print(f"budget: {BUDGET_MS:g} ms of isolation per attachment")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
