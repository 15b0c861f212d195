"""Named crash points for the crash tests: the process kills itself at a chosen step.

`INTAKE_CRASH_AT=<point>` in the environment makes `crash_point(<point>)` send SIGKILL to
its own process, which is exactly what a power cut or the OOM killer does: no cleanup, no
`finally`. Without the variable it is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

POINTS = ("raw_kept", "decided", "smtp_accepted")


def crash_point(name: str) -> None:
    if os.environ.get("INTAKE_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
