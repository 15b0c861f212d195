"""The poll job: one cycle of intake.cycle, and the worker's memory of server outages."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from intake.config import Settings
from intake.cycle import Pipeline, poll_once
from intake.mailbox import Mailbox
from intake.outbox import SmtpConnection

log = logging.getLogger("intake.worker")

MAX_BACKOFF = timedelta(minutes=30)


@dataclass
class Outage:
    """One server's trouble: logged once when it starts and once when it ends; meanwhile
    the cycles that would use it back off, doubling up to MAX_BACKOFF."""

    name: str
    error: str | None = None
    failures: int = 0
    retry_at: datetime | None = None

    def failed(self, error: str, now: datetime, every: timedelta) -> None:
        if self.error is None:
            log.error("%s unreachable, will keep retrying: %s", self.name, error)
        self.error = error
        self.failures += 1
        self.retry_at = now + min(every * 2 ** (self.failures - 1), MAX_BACKOFF)

    def recovered(self) -> None:
        if self.error is not None:
            log.warning("%s reachable again", self.name)
        self.error, self.failures, self.retry_at = None, 0, None

    def waiting(self, now: datetime) -> bool:
        return self.retry_at is not None and now < self.retry_at


@dataclass
class Worker:
    """What the scheduled jobs share; the schedule itself is in jobs.worker."""

    settings: Settings
    pipeline: Pipeline
    open_mailbox: Callable[[], Mailbox]
    smtp: Callable[[], SmtpConnection]
    stop: threading.Event = field(default_factory=threading.Event)
    imap: Outage = field(default_factory=lambda: Outage("IMAP"))
    database: Outage = field(default_factory=lambda: Outage("database"))
    digest_lock: threading.Lock = field(default_factory=threading.Lock)
    cycles: int = 0


def poll(worker: Worker) -> None:
    """One poll cycle, then the outbox; never raises, so the scheduler keeps going."""
    now = worker.pipeline.now()
    if worker.stop.is_set() or worker.imap.waiting(now) or worker.database.waiting(now):
        return
    try:
        report = poll_once(
            worker.pipeline, worker.open_mailbox, worker.smtp(),
            batch_size=worker.settings.mailbox.batch_size,
            processed_folder=worker.settings.mailbox.processed_folder,
            should_stop=worker.stop.is_set,
        )
    except (OperationalError, InterfaceError) as error:
        # The database went away (a PostgreSQL restart, a network cut): an outage like
        # the mailbox's, logged in one line when it starts and ends, not a traceback a cycle.
        worker.database.failed(_first_line(error), now, worker.settings.poll_every)
        return
    except Exception:  # a bug must not stop the worker: log it and try next time
        log.exception("poll cycle failed")
        return
    worker.database.recovered()
    worker.cycles += 1
    if report.imap_error:
        worker.imap.failed(report.imap_error, now, worker.settings.poll_every)
    else:
        worker.imap.recovered()
    if report.outbox.unreachable:
        log.warning("replies wait: %s", report.outbox.unreachable)
    log.info("cycle %d: %s", worker.cycles, report.summary())


def _first_line(error: DBAPIError) -> str:
    """The driver's own message, without SQLAlchemy's statement and help link."""
    text = str(error.orig if error.orig is not None else error).strip()
    return text.splitlines()[0] if text else type(error).__name__
