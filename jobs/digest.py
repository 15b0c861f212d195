"""The digest job: send every digest that is due and not yet sent.

The scheduler only wakes this job (daily at digest.at, and once at start); which days are
due is decided by intake.coordinator.due_days against the `digests` table, so a digest that
was missed while the worker was down goes out on the next start, and none goes out twice.
"""

from __future__ import annotations

import logging

from intake.coordinator import due_days, first_day, send_digest, sent_days
from intake.errors import ServerUnreachable
from jobs.poll import Worker

log = logging.getLogger("intake.worker")


def digest(worker: Worker) -> None:
    """Send what is due. Serialised within the worker (the poll job also calls this after
    each cycle, so a digest that failed for want of SMTP goes out as soon as it is back)."""
    if not worker.digest_lock.acquire(blocking=False):
        return
    try:
        _send_due(worker)
    finally:
        worker.digest_lock.release()


def _send_due(worker: Worker) -> None:
    settings = worker.settings
    pipeline = worker.pipeline
    zone = settings.campaign.timezone
    try:
        with pipeline.sessions() as session:
            sent = sent_days(session)
            since = first_day(session, zone)
        if since is None:
            return  # nothing was ever received: nothing to report
        for day in due_days(pipeline.now(), zone, settings.digest.at, sent, first_day=since):
            if worker.stop.is_set():
                return
            result = send_digest(pipeline.sessions, pipeline, worker.smtp(), day, zone,
                                 settings.digest.to, skip_empty=settings.digest.skip_empty)
            log.info("%s", result)
    except ServerUnreachable as error:
        log.warning("digest not sent, will retry after the next poll: %s", error)
    except Exception:
        log.exception("digest failed")
