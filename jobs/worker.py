"""`intake run`: the schedule, in the worker's memory; the truth is in the database.

One BlockingScheduler, no persistent job store (APScheduler's authors warn that a shared
store runs jobs twice), each job at most one instance at a time with missed runs coalesced,
so a slow cycle or a laptop waking from sleep never runs a job twice at once nor floods.
SIGINT/SIGTERM set the stop flag (the cycle finishes the message in hand and commits) and
shut the scheduler down once the running jobs return.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timedelta
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from jobs.digest import digest
from jobs.poll import Worker, poll

log = logging.getLogger("intake.worker")


def poll_and_digest(worker: Worker) -> None:
    poll(worker)
    if not worker.stop.is_set():
        digest(worker)


def build_scheduler(worker: Worker, now: datetime | None = None) -> BlockingScheduler:
    settings = worker.settings
    zone = settings.campaign.timezone
    every = settings.poll_every
    start = now or worker.pipeline.now()
    scheduler = BlockingScheduler(timezone=zone)
    scheduler.add_job(
        poll_and_digest, IntervalTrigger(seconds=every.total_seconds(), timezone=zone),
        args=[worker], id="poll", name="poll the mailbox, send replies",
        max_instances=1, coalesce=True, next_run_time=start,
        # A run that is late by up to one interval still runs; later than that it is
        # skipped, because the next one is about to start anyway.
        misfire_grace_time=max(int(every.total_seconds()), 1),
    )
    scheduler.add_job(
        digest, CronTrigger(hour=settings.digest.at.hour, minute=settings.digest.at.minute,
                            timezone=zone),
        args=[worker], id="digest", name="send the daily digest",
        max_instances=1, coalesce=True,
        # The digests table decides what is due, so a late wake-up must still run the job
        # (APScheduler's default grace of one second would silently drop it).
        misfire_grace_time=int(timedelta(hours=23).total_seconds()),
    )
    return scheduler


def run(worker: Worker) -> None:
    """Run the schedule until SIGINT or SIGTERM."""
    scheduler = build_scheduler(worker)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.warning("%s received: finishing the message in hand, then stopping",
                    signal.Signals(signum).name)
        worker.stop.set()
        # shutdown(wait=True) waits for the running job; off the signal handler's frame,
        # which interrupted the scheduler's own loop in this thread.
        if scheduler.running:
            threading.Thread(target=scheduler.shutdown, kwargs={"wait": True},
                             name="shutdown").start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        log.warning("intake worker started: polling every %s, digest daily at %s",
                    worker.settings.poll_every, worker.settings.digest.at.strftime("%H:%M"))
        scheduler.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        worker.stop.set()
