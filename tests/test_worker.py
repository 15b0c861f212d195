"""The worker (`intake run`): its schedule under a controlled clock, and the real command.

The clock tests drive the scheduler's own triggers (from jobs.worker.build_scheduler) and
the pure due_days with fake times across both DST changes of 2021 in Europe/Ljubljana
(28 March: 02:00 CET -> 03:00 CEST; 31 October: 03:00 CEST -> 02:00 CET). The digest job is
run against a real SQLite database and a real SMTP sink with only the clock faked. Overlap is
checked on a real BlockingScheduler; stopping and locking on a real `intake run` subprocess.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.base import BaseTrigger
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url

from intake.bootstrap import build_pipeline, mailbox_opener, open_database, smtp_connection
from intake.config import parse_settings
from intake.coordinator import CATCH_UP_DAYS, due_days
from intake.embedded import MailSink, free_port
from intake.mailbox import Mailbox
from intake.samples import sample_mailbox
from jobs.digest import digest
from jobs.poll import MAX_BACKOFF, Outage, Worker, poll
from jobs.worker import build_scheduler
from parsers.model import Declaration
from storage.db import make_engine
from storage.lock import WorkerLock, acquire_worker_lock
from storage.models import DigestSent, Message, Reply
from tests.harness import ROOT, intake, seed, write_config
from tests.servers import CuttingProxy, ImapAccount

ZONE = ZoneInfo("Europe/Ljubljana")
EIGHT = clock_time(8, 0)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
          second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=ZONE)


class Clock:
    """The only fake: a settable `now` for the pipeline."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at


def no_parse(data: bytes, name: str | None) -> list[Declaration]:
    raise AssertionError("these tests parse no attachment")


def worker_for(tmp_path: Path, clock: Clock, *, sink: MailSink | None = None,
               imap_port: int | None = None, poll_every: str = "5m",
               at: str = "08:00") -> Worker:
    """A Worker over SQLite in tmp_path, its pipeline on `clock`; the mailbox is a closed
    port unless given, the SMTP server the sink (or a closed port)."""
    smtp_host, smtp_port = (sink.host, sink.port) if sink else ("127.0.0.1", free_port())
    text = (
        f'[mailbox]\nhost = "127.0.0.1"\nport = {imap_port or free_port()}\nsecurity = "none"\n'
        'username = "coordinator"\npassword = "secret"\ntimeout = 5\n'
        f'[smtp]\nhost = "{smtp_host}"\nport = {smtp_port}\nsecurity = "none"\n'
        'username = ""\ntimeout = 10\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "intake.db"}"\n'
        f'[schedule]\npoll_every = "{poll_every}"\n'
        f'[digest]\nat = "{at}"\n'
    )
    settings = parse_settings(text, "test.toml", tmp_path)
    pipeline = build_pipeline(settings, open_database(settings), no_parse, now=clock)
    return Worker(settings, pipeline, mailbox_opener(settings),
                  lambda: smtp_connection(settings))


def fire_times(trigger: BaseTrigger, first: datetime | None, start: datetime,
               end: datetime) -> list[datetime]:
    """Every time the scheduler would run a job with this trigger from `start` to `end`,
    asking the trigger as APScheduler does (previous fire time, and now = that time)."""
    times: list[datetime] = []
    moment = first or trigger.get_next_fire_time(None, start)
    while moment is not None and moment <= end:
        times.append(moment)
        moment = trigger.get_next_fire_time(moment, moment)
    return times


# --- the schedule, with a fake clock -----------------------------------------------------


def test_poll_job_runs_now_and_then_every_interval_across_dst(tmp_path: Path) -> None:
    """GIVEN poll_every = 5m and a worker started at 01:40 on the night the clocks go back
    WHEN the poll job's trigger is asked for its fire times
    THEN the first run is at start and every next one exactly 5 real minutes later, through
    the repeated hour; at most one instance, missed runs coalesced, a grace of one interval."""
    start = local(2021, 10, 31, 1, 40)
    worker = worker_for(tmp_path, Clock(start))
    scheduler = build_scheduler(worker, now=start)
    job = scheduler.get_job("poll")
    assert job.max_instances == 1
    assert job.coalesce is True
    assert job.misfire_grace_time == 300
    assert job.next_run_time == start

    end = local(2021, 10, 31, 4, 0)
    times = fire_times(job.trigger, job.next_run_time, start, end)
    # 01:40 CEST to 04:00 CET is 3 h 20 min of real time: 40 intervals, 41 runs.
    assert len(times) == 41
    # (Subtracting two times of one zone would be wall-clock arithmetic: compare in UTC.)
    utc = [t.astimezone(UTC) for t in times]
    steps = {b - a for a, b in itertools.pairwise(utc)}
    assert steps == {timedelta(minutes=5)}
    assert times[0].astimezone(UTC) == datetime(2021, 10, 30, 23, 40, tzinfo=UTC)
    assert times[-1].astimezone(UTC) == datetime(2021, 10, 31, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(("first", "last", "offsets"), [
    (date(2021, 3, 26), date(2021, 3, 30), ["+01:00", "+01:00", "+02:00", "+02:00", "+02:00"]),
    (date(2021, 10, 29), date(2021, 11, 2), ["+02:00", "+02:00", "+01:00", "+01:00", "+01:00"]),
])
def test_digest_job_fires_at_eight_local_time_once_a_day_across_dst(
    tmp_path: Path, first: date, last: date, offsets: list[str],
) -> None:
    """GIVEN digest.at = 08:00 in Europe/Ljubljana
    WHEN the digest job's cron trigger is asked for its fire times over five days around a
    change of the clocks
    THEN it fires once a day at 08:00 local time, the UTC instant moving by the hour."""
    start = datetime.combine(first, clock_time(0), ZONE)
    worker = worker_for(tmp_path, Clock(start))
    job = build_scheduler(worker, now=start).get_job("digest")
    assert job.max_instances == 1 and job.coalesce is True
    # A late wake-up (a laptop's sleep, a busy machine) still runs it the same day.
    assert job.misfire_grace_time == 23 * 3600

    end = datetime.combine(last, clock_time(23, 59), ZONE)
    times = fire_times(job.trigger, None, start, end)
    assert [t.isoformat() for t in times] == [
        f"{first + timedelta(days=n)}T08:00:00{offset}" for n, offset in enumerate(offsets)
    ]


def simulate(ticks: list[datetime], at: clock_time, sent: list[str]) -> list[tuple[datetime, date]]:
    """A worker that asks due_days at each tick and 'sends' what is due: (when, day) sent."""
    sends: list[tuple[datetime, date]] = []
    for now in ticks:
        for day in due_days(now, ZONE, at, sent):
            sends.append((now, day))
            sent.append(day.isoformat())
    return sends


def every(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """Instants from start to end (inclusive), `step` apart in real time."""
    first, last = start.astimezone(UTC), end.astimezone(UTC)
    count = int((last - first) / step)
    return [(first + n * step).astimezone(ZONE) for n in range(count + 1)]


def already_sent(before: date) -> list[str]:
    """The catch-up window before `before`, as a worker that has been running has it."""
    return [(before - timedelta(days=n)).isoformat() for n in range(1, CATCH_UP_DAYS + 2)]


@pytest.mark.parametrize(("first", "at", "expected"), [
    # 08:00 around both changes: the digest of each day at the first tick at 08:00 local.
    (date(2021, 3, 27), "08:00", ["2021-03-27T08:00:00+01:00", "2021-03-28T08:00:00+02:00",
                                  "2021-03-29T08:00:00+02:00"]),
    (date(2021, 10, 30), "08:00", ["2021-10-30T08:00:00+02:00", "2021-10-31T08:00:00+01:00",
                                   "2021-11-01T08:00:00+01:00"]),
    # 02:30 does not exist on 28 March (sent at the first tick after it, 03:00 CEST) and
    # happens twice on 31 October (sent the first time only).
    (date(2021, 3, 27), "02:30", ["2021-03-27T02:30:00+01:00", "2021-03-28T03:00:00+02:00",
                                  "2021-03-29T02:30:00+02:00"]),
    (date(2021, 10, 30), "02:30", ["2021-10-30T02:30:00+02:00", "2021-10-31T02:30:00+02:00",
                                   "2021-11-01T02:30:00+01:00"]),
])
def test_due_days_every_five_minutes_sends_each_day_once_at_digest_time(
    first: date, at: str, expected: list[str],
) -> None:
    """GIVEN a worker that has sent every digest so far
    WHEN due_days is asked every 5 minutes for three days that include a change of the clocks
    THEN each previous day is sent exactly once, at the first tick at or after digest.at."""
    start = datetime.combine(first, clock_time(0), ZONE)
    ticks = every(start, start + timedelta(days=3) - timedelta(minutes=5), timedelta(minutes=5))
    assert (ticks[0].date(), ticks[-1].date()) == (first, first + timedelta(days=2))

    sends = simulate(ticks, clock_time.fromisoformat(at), already_sent(first - timedelta(days=1)))

    assert [when.isoformat() for when, _ in sends] == expected
    assert [day for _, day in sends] == [first + timedelta(days=n - 1) for n in range(3)]


def test_due_days_after_an_outage_sends_each_missed_day_once_oldest_first() -> None:
    """GIVEN a worker ticking every 5 minutes that is down from 07:00 on 27 March until
    09:20 on 29 March (over two digest times and the change to summer time)
    WHEN it comes back
    THEN its first tick sends the three days whose digest time passed meanwhile, oldest
    first, each once; the next day's goes out at 08:00 as usual."""
    before = every(local(2021, 3, 26, 0, 0), local(2021, 3, 27, 6, 55), timedelta(minutes=5))
    after = every(local(2021, 3, 29, 9, 20), local(2021, 3, 30, 12, 0), timedelta(minutes=5))

    sends = simulate(before + after, EIGHT, already_sent(date(2021, 3, 25)))

    assert [(when.isoformat(), day.isoformat()) for when, day in sends] == [
        ("2021-03-26T08:00:00+01:00", "2021-03-25"),
        ("2021-03-29T09:20:00+02:00", "2021-03-26"),
        ("2021-03-29T09:20:00+02:00", "2021-03-27"),
        ("2021-03-29T09:20:00+02:00", "2021-03-28"),
        ("2021-03-30T08:00:00+02:00", "2021-03-29"),
    ]


def test_due_days_catch_up_is_bounded() -> None:
    """A worker back after three weeks sends the last CATCH_UP_DAYS days, not every day."""
    now = local(2021, 3, 30, 9, 0)
    assert due_days(now, ZONE, EIGHT, []) == [
        date(2021, 3, 29) - timedelta(days=n) for n in reversed(range(CATCH_UP_DAYS))
    ]
    assert due_days(local(2021, 3, 30, 7, 59), ZONE, EIGHT, ["2021-03-28"]) == [
        date(2021, 3, 28) - timedelta(days=n) for n in reversed(range(1, CATCH_UP_DAYS))
    ]


def wake_times(worker: Worker, start: datetime, end: datetime) -> list[datetime]:
    """When a worker started at `start` would run its jobs until `end`, from the triggers
    of its own schedule (the poll job also ends in the digest job)."""
    scheduler = build_scheduler(worker, now=start)
    poll_job, digest_job = scheduler.get_job("poll"), scheduler.get_job("digest")
    merged = heapq.merge(fire_times(poll_job.trigger, poll_job.next_run_time, start, end),
                         fire_times(digest_job.trigger, None, start, end))
    return sorted(set(merged))


def test_digest_job_mails_each_day_once_across_dst_and_catches_up_after_downtime(
    tmp_path: Path, mail_sink: MailSink,
) -> None:
    """GIVEN a worker (real SQLite, real SMTP sink, fake clock) polling every 15 minutes,
    that has sent every digest up to 23 March
    WHEN it runs from 25 March to the morning of 29 March (clocks change on the 28th), is
    down until 09:20 on 31 March, and runs again until noon
    THEN the digests table and the sink agree: one mail per day, at 08:00 local while
    running, and the three missed days at restart, oldest first, once each."""
    clock = Clock(local(2021, 3, 25))
    worker = worker_for(tmp_path, clock, sink=mail_sink, poll_every="15m")
    with worker.pipeline.sessions.begin() as session:
        session.add_all(DigestSent(day=day, state="sent", message_id=f"<old.{day}@x>")
                        for day in already_sent(date(2021, 3, 24)))
        # Mail has been arriving since March (no digest is due before the first message).
        session.add(Message(mailbox="INBOX", uidvalidity=1, uid=1, received_at=local(2021, 3, 1),
                            size=1, status="ignored", created_at=local(2021, 3, 1)))

    runs = [(local(2021, 3, 25), local(2021, 3, 29, 7, 0)),
            (local(2021, 3, 31, 9, 20), local(2021, 3, 31, 12, 0))]
    mailed: list[tuple[str, str]] = []
    wakes = 0
    for start, end in runs:
        for moment in wake_times(worker, start, end):
            clock.at = moment
            digest(worker)
            wakes += 1
            for envelope in mail_sink.envelopes[len(mailed):]:
                mailed.append((moment.isoformat(), str(envelope.message["Subject"])))
    assert wakes > 4 * 96  # the poll job woke it every 15 minutes

    def subject(day: int) -> str:
        return f"Mreža komunikatorjev: povzetek za {day}. 3. 2021 (nič novega)"

    assert mailed == [
        ("2021-03-25T08:00:00+01:00", subject(24)),
        ("2021-03-26T08:00:00+01:00", subject(25)),
        ("2021-03-27T08:00:00+01:00", subject(26)),
        ("2021-03-28T08:00:00+02:00", subject(27)),
        ("2021-03-31T09:20:00+02:00", subject(28)),
        ("2021-03-31T09:20:00+02:00", subject(29)),
        ("2021-03-31T09:20:00+02:00", subject(30)),
    ]
    with worker.pipeline.sessions() as session:
        rows = session.execute(select(DigestSent.day, DigestSent.state)
                               .where(DigestSent.day >= "2021-03-24")).all()
    assert sorted(rows) == [(f"2021-03-{d}", "sent") for d in range(24, 31)]


# --- outages ------------------------------------------------------------------------------


def test_outage_backs_off_doubling_to_thirty_minutes_and_logs_start_and_end_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = Outage("IMAP")
    now = local(2021, 2, 3, 9, 0)
    delays = []
    with caplog.at_level(logging.WARNING, logger="intake.worker"):
        for _ in range(8):
            outage.failed("connection refused", now, timedelta(minutes=1))
            assert outage.retry_at is not None
            delays.append(outage.retry_at - now)
            assert outage.waiting(now + delays[-1] - timedelta(seconds=1))
            assert not outage.waiting(now + delays[-1])
        outage.recovered()
        outage.recovered()
    assert delays == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 30, 30, 30)]
    assert timedelta(minutes=30) == MAX_BACKOFF
    assert (outage.error, outage.failures, outage.retry_at) == (None, 0, None)
    assert not outage.waiting(now)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", "IMAP unreachable, will keep retrying: connection refused"),
        ("WARNING", "IMAP reachable again"),
    ]


def test_poll_skips_cycles_while_backing_off_and_resumes_when_imap_is_back(
    tmp_path: Path, pymap_account: ImapAccount,
) -> None:
    """GIVEN a worker whose mailbox port refuses connections, polling every minute
    WHEN the poll job runs every 30 seconds of fake time
    THEN it tries the mailbox at 0, 1 and 3 minutes (backing off 1, 2, 4 minutes) and not
    in between; once the mailbox answers, the next due cycle completes and the outage ends."""
    clock = Clock(local(2021, 2, 3, 9, 0))
    worker = worker_for(tmp_path, clock, poll_every="1m")
    tries: list[str] = []
    real_open = worker.open_mailbox

    def counting_open() -> Mailbox:
        tries.append(clock.at.strftime("%H:%M:%S"))
        return real_open()

    worker.open_mailbox = counting_open
    for half_minutes in range(12):  # 09:00:00 .. 09:05:30
        clock.at = local(2021, 2, 3, 9, 0) + timedelta(seconds=30 * half_minutes)
        poll(worker)
    assert tries == ["09:00:00", "09:01:00", "09:03:00"]
    assert worker.imap.failures == 3
    assert worker.imap.retry_at == local(2021, 2, 3, 9, 7)

    reachable = parse_settings(pymap_account.config_toml(), "t.toml")
    real_open = mailbox_opener(reachable)
    clock.at = local(2021, 2, 3, 9, 6, 30)
    poll(worker)
    assert worker.cycles == 3  # still waiting: nothing tried
    clock.at = local(2021, 2, 3, 9, 7)
    poll(worker)
    assert tries[-1] == "09:07:00" and worker.cycles == 4
    assert (worker.imap.error, worker.imap.failures) == (None, 0)


@pytest.mark.postgres
def test_a_database_outage_is_one_line_and_the_worker_resumes_after_it(
    tmp_path: Path, pymap_account: ImapAccount, postgres_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """GIVEN a worker whose PostgreSQL is reached through a TCP proxy
    WHEN the proxy goes away (a database restart, a network cut) and comes back
    THEN the worker logs one line when the outage starts and one when it ends, backs off
    meanwhile, and completes the next due cycle — no traceback per cycle."""
    url = make_url(postgres_url)
    proxy = CuttingProxy(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = parse_settings(
        pymap_account.config_toml()
        + f'[smtp]\nhost = "127.0.0.1"\nport = {free_port()}\nsecurity = "none"\nusername = ""\n'
        + f'[database]\nurl = "{proxied}"\n[schedule]\npoll_every = "1m"\n',
        "test.toml", tmp_path)
    clock = Clock(local(2021, 2, 3, 9, 0))
    database = open_database(settings)
    pipeline = build_pipeline(settings, database, no_parse, now=clock)
    worker = Worker(settings, pipeline, mailbox_opener(settings), lambda: smtp_connection(settings))
    poll(worker)
    assert worker.cycles == 1

    proxy.close()
    database.engine.dispose()  # the pooled connections went with the server
    with caplog.at_level(logging.INFO, logger="intake.worker"):
        for minute in (1, 2, 3):  # 9:01 fails; 9:02 waits (backing off 2 minutes); 9:03 fails
            clock.at = local(2021, 2, 3, 9, minute)
            poll(worker)
        assert worker.cycles == 1 and worker.database.failures == 2
        proxy = CuttingProxy(url.host or "127.0.0.1", url.port or 5432, port=proxy.port)
        clock.at = local(2021, 2, 3, 9, 7)
        poll(worker)
    database.engine.dispose()
    proxy.close()
    assert worker.cycles == 2 and worker.database.error is None
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]
    assert [level for level, _ in lines] == ["ERROR", "WARNING"]
    assert lines[0][1].startswith("database unreachable, will keep retrying: ")
    assert "\n" not in lines[0][1] and "Traceback" not in caplog.text
    assert lines[1] == ("WARNING", "database reachable again")


# --- a real scheduler: no overlap ----------------------------------------------------------


def test_a_slow_poll_never_overlaps_the_next(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """GIVEN the schedule of build_scheduler with poll_every = 0.5 s, on a real
    BlockingScheduler in a thread, and a poll that takes 1.2 s
    WHEN it runs for about 3 seconds
    THEN never two polls run at once, and the skipped runs are coalesced, not queued."""
    worker = worker_for(tmp_path, Clock(datetime.now(UTC)), poll_every="0.5s")
    scheduler = build_scheduler(worker, now=datetime.now(UTC))
    scheduler.remove_job("digest")
    running, peak, runs = 0, 0, 0
    guard = threading.Lock()

    def slow_poll() -> None:
        nonlocal running, peak, runs
        with guard:
            running += 1
            runs += 1
            peak = max(peak, running)
        time.sleep(1.2)
        with guard:
            running -= 1

    scheduler.modify_job("poll", func=slow_poll, args=())
    thread = threading.Thread(target=scheduler.start, daemon=True)
    with caplog.at_level(logging.WARNING, logger="apscheduler"):
        thread.start()
        time.sleep(3.0)
        scheduler.shutdown(wait=True)
        thread.join(5)
    assert not thread.is_alive()
    assert peak == 1
    assert runs in (2, 3)  # at 0 s, ~1.5 s (and ~3 s): one after another, not six
    assert any("maximum number of running instances reached" in r.getMessage()
               for r in caplog.records)


# --- one worker per database ----------------------------------------------------------------


def test_one_worker_lock_per_database_names_the_holder(database_url: str) -> None:
    """The lock `intake run` takes: a second taker is told who holds it (SQLite: the pid in
    the lock file; PostgreSQL: the holder's backend pid); released, it can be taken again.
    (The SQLite case is also run through the real command below.)"""
    first_engine, second_engine = make_engine(database_url), make_engine(database_url)
    try:
        held = acquire_worker_lock(first_engine)
        assert isinstance(held, WorkerLock)
        refused = acquire_worker_lock(second_engine)
        if first_engine.dialect.name == "sqlite":
            assert refused == (f"another intake worker (pid {os.getpid()}) is using "
                               f"{first_engine.url.database}")
        else:
            with first_engine.connect() as connection:
                others = set(connection.scalars(text(
                    "select pid from pg_locks where locktype = 'advisory' and granted")))
            assert isinstance(refused, str)
            assert refused.startswith("another intake worker (database backend pid ")
            holder = int(refused.split("pid ", 1)[1].split(")")[0])
            assert holder in others
        held.release()
        again = acquire_worker_lock(second_engine)
        assert isinstance(again, WorkerLock)
        assert isinstance(acquire_worker_lock(first_engine), str)
        again.release()
    finally:
        first_engine.dispose()
        second_engine.dispose()


# --- the real command ---------------------------------------------------------------------


FIRST = ("accepted-docx", "incomplete-no-declaration", "colleague-note", "accepted-body")


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    """The test's own view of the worker's database."""
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


def states(engine: Engine) -> tuple[Counter[str], Counter[str]]:
    """How many messages and replies are in each state, read from the database itself."""
    with engine.connect() as connection:
        return (Counter(connection.scalars(select(Message.status))),
                Counter(connection.scalars(select(Reply.state))))


@pytest.fixture
def worker_process(tmp_path: Path) -> Iterator[Callable[[Path], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(config: Path) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"worker{len(started)}.log").open("wb")
        process = subprocess.Popen([sys.executable, "-m", "intake", "-c", str(config), "run"],
                                   stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        log.close()
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_run_answers_new_mail_holds_the_lock_and_stops_cleanly_on_sigterm(
    tmp_path: Path, pymap_account: ImapAccount, mail_sink: MailSink, sqlite_url: str,
    engine: Engine, worker_process: Callable[[Path], subprocess.Popen[bytes]],
) -> None:
    """GIVEN `intake run` with poll_every = 1s on an empty mailbox
    WHEN a second `intake run` starts on the same database, then mail arrives, then the
    rest of the sample mailbox arrives and SIGTERM is sent as soon as the first of it is
    recorded (batches of 4, so in the middle of the mail)
    THEN the second exits 2 with one line naming the first; the first answers the mail,
    exits 0 within 5 s of SIGTERM and leaves no message "received" and no reply "sending";
    a later `intake poll --once` finishes the rest, every applicant answered exactly once."""
    samples = {sample.name: sample for sample in sample_mailbox()}
    # Forty more applicants, so that a SIGTERM sent as the second lot starts to arrive lands
    # while most of it is still in the mailbox, however fast the cycle is.
    body = samples["accepted-body"]
    for n in range(40):
        raw = body.raw.replace(b"sample-3@", f"copy-{n}@".encode()).replace(
            b"zupan@kostel.si", f"zupan{n}@kostel.si".encode())
        samples[f"copy-{n}"] = replace(body, name=f"copy-{n}", raw=raw,
                                       sender=f"zupan{n}@kostel.si")
    config = write_config(tmp_path, pymap_account, mail_sink, sqlite_url,
                          '[schedule]\npoll_every = "1s"\n[digest]\nskip_empty = true\n')
    # Small batches, so that a stop in the middle leaves whole batches in the mailbox.
    config.write_text(config.read_text().replace("[smtp]\n", "batch_size = 4\n[smtp]\n", 1))
    log = tmp_path / "worker0.log"
    first = worker_process(config)
    wait_for(lambda: b"intake worker started" in log.read_bytes(), 60, "the worker to start")

    # Not the harness's three minutes: a second worker that wrongly started would run on.
    second = subprocess.run([sys.executable, "-m", "intake", "-c", str(config), "run"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert second.returncode == 2
    assert second.stdout == ""
    lines = second.stderr.splitlines()
    assert len(lines) == 1, second.stderr
    assert lines[0] == (f"intake: not starting: another intake worker (pid {first.pid}) "
                        f"is using {tmp_path / 'intake.db'}")
    assert first.poll() is None

    seed(pymap_account, [samples[name] for name in FIRST])
    answered = [samples[name].sender for name in FIRST if samples[name].answered]
    mail_sink.wait_for(len(answered), timeout=30)
    assert Counter(e.rcpt_tos[0] for e in mail_sink.envelopes) == Counter(answered)

    second_batch = [sample for sample in samples.values() if sample.name not in FIRST]
    seed(pymap_account, second_batch)
    wait_for(lambda: states(engine)[0].total() > len(FIRST), 30, "the second batch")
    first.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    assert first.wait(timeout=5) == 0, log.read_text()
    assert time.monotonic() - stopped < 5
    assert "SIGTERM received" in log.read_text()

    messages, replies = states(engine)
    assert messages["received"] == 0 and replies["sending"] == 0, (messages, replies)
    # Stopped in the middle: the rest is still in the mailbox, not half-done.
    assert len(FIRST) < messages.total() < len(samples), messages

    intake(config, "poll", "--once")
    everything = list(samples.values())
    with engine.connect() as connection:
        recorded = sorted(str(m) for m in connection.scalars(select(Message.message_id)))
    assert recorded == sorted(s.message_id for s in everything)
    expected = Counter(s.sender for s in everything if s.answered)
    assert Counter(e.rcpt_tos[0] for e in mail_sink.wait_for(sum(expected.values()))) == expected
    messages, replies = states(engine)
    assert (messages["received"], set(replies)) == (0, {"sent"})



def test_no_digest_is_due_before_the_first_message() -> None:
    """A new installation does not greet the coordinator with a week of empty digests."""
    now = local(2021, 3, 30, 9, 0)
    assert due_days(now, ZONE, EIGHT, [], first_day=date(2021, 3, 29)) == [date(2021, 3, 29)]
    assert due_days(now, ZONE, EIGHT, [], first_day=date(2021, 3, 30)) == []
