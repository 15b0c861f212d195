"""One worker per database: a PostgreSQL advisory lock, or an OS file lock beside SQLite.

Both are released by the operating system or the server when the process dies, however it
dies, so a crashed worker never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text

# An arbitrary constant that names "the intake worker" among advisory locks.
ADVISORY_KEY = 0x1A7A4E


class WorkerLock:
    def __init__(self, connection: Connection | None = None, file: IO[str] | None = None) -> None:
        self._connection = connection
        self._file = file

    def release(self) -> None:
        if self._connection is not None:
            self._connection.execute(text("select pg_advisory_unlock(:key)"),
                                     {"key": ADVISORY_KEY})
            self._connection.close()
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def acquire_worker_lock(engine: Engine) -> WorkerLock | str:
    """The lock, or a sentence saying who holds it."""
    if engine.dialect.name == "postgresql":
        connection = engine.connect()
        got = connection.execute(text("select pg_try_advisory_lock(:key)"),
                                 {"key": ADVISORY_KEY}).scalar()
        connection.commit()
        if got:
            return WorkerLock(connection=connection)
        holder = connection.execute(text(
            "select pid from pg_locks where locktype = 'advisory' and objid = :key and granted"
        ), {"key": ADVISORY_KEY}).scalar()
        connection.close()
        return f"another intake worker (database backend pid {holder}) is using this database"
    database = engine.url.database
    path = Path(f"{database}.lock") if database and database != ":memory:" else None
    if path is None:
        return WorkerLock()
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        return f"another intake worker (pid {holder}) is using {database}"
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return WorkerLock(file=handle)
