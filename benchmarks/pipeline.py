"""End to end: a mailbox of N applications through `intake poll --once`, beside the floor.

Run from the repository root:

    python benchmarks/pipeline.py [--messages N] [--server dovecot|pymap]
                                  [--rss-check] [--idle-check] [--idle-messages M]
                                  [--database-url URL] [--pool K]

What it does, per mailbox size N:

 1. builds N messages from intake.samples: about 40 % a filled DOCX, 30 % a filled PDF,
    5 % both (two people), 12 % a declaration typed in the body, 13 % mail that is not an
    application (a colleague's note, a newsletter, an out-of-office, an invoice with a PDF);
    the documents come from a pool of `--pool` filled forms per kind (different people in
    different municipalities), each message has its own sender address and Message-ID;
 2. APPENDs them (MULTIAPPEND where the server has it) to a fresh mailbox, received within
    the call's window;
 3. runs `python -m intake -c cfg poll --once` in a subprocess on a fresh SQLite database
    (or --database-url) with an aiosmtpd sink as the SMTP server, and measures its wall
    time, and its peak RSS by sampling /proc (the intake process and, separately, its
    sandbox workers, which are processes of their own);
 4. measures the floor in the same run: imapclient fetching the same messages
    (BODY.PEEK[] in batches of 50) and, in this process, the stdlib `email` package
    splitting them and parsers.document.parse_document / parsers.body.parse_body reading
    their attachments and bodies — no sandbox, no database, no decision, no reply.

--rss-check also runs 10,000 messages and compares the peak RSS with the N run (target: within
1.2x). --idle-check times polls that find nothing new (in-process poll_once with a pipeline
built by intake.bootstrap, and the whole `poll --once` command) in mailboxes of 10 and of
--idle-messages (default 10,000) processed messages (target: under 100 ms, and within 2x of
the 10). On a shared 2-core machine the 1,000 run takes under a minute, and
`--rss-check --idle-check` several minutes more (the 10,000 poll alone takes minutes); one
10,000 run serves both checks.

Targets (issue 4): end to end at most 1.5x the floor; peak RSS flat in N; an idle poll under
100 ms and within 2x of one with 10 processed.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from intake.embedded import EmbeddedImap, MailSink  # noqa: E402
from intake.forms import blank_docx, blank_pdf  # noqa: E402
from intake.samples import DOCX_TYPE, fill_docx, fill_pdf, mail  # noqa: E402
from parsers.body import parse_body  # noqa: E402
from parsers.document import parse_document  # noqa: E402
from parsers.model import FIELDS, FieldValue  # noqa: E402
from tests.servers import DOVECOT, Dovecot, ImapAccount  # noqa: E402

ZONE = ZoneInfo("Europe/Ljubljana")
COORDINATOR = "metka.lasic@skupnostobcin.si"
FETCH_BATCH = 50
APPEND_BATCH = 100
RATIO_TARGET = 1.5
RSS_TARGET = 1.2
IDLE_TARGET_MS = 100.0
_MB = 2**20


# --- the messages ----------------------------------------------------------------------------


def _municipalities() -> list[tuple[str, str]]:
    """(name, official name) of the packaged list, e.g. ("Bled", "Občina Bled")."""
    text = (ROOT / "intake" / "data" / "obcine.csv").read_text(encoding="utf-8")
    rows = [line.split(",") for line in text.splitlines()[1:] if line.strip()]
    return [(row[1], row[2]) for row in rows if len(row) >= 3]


def _ascii(text: str) -> str:
    """"Škofja Loka" -> "skofja-loka": for made-up addresses."""
    plain = unicodedata.normalize("NFKD", text.lower().replace("đ", "d"))
    kept = (c for c in plain if c.isascii() and (c.isalnum() or c in " -"))
    return "".join("-" if c == " " else c for c in kept)


FIRST = ["Ana", "Bojan", "Eva", "Rok", "Sara", "Luka", "Nina", "Urban", "Maja", "Tina",
         "Petra", "Gregor", "Mojca", "Irena", "Jure", "Katja", "Matej", "Špela", "Tadej", "Urša"]
LAST = ["Novak", "Kovač", "Horvat", "Krajnc", "Zupančič", "Potočnik", "Mlakar", "Kos",
        "Vidmar", "Golob", "Turk", "Božič", "Kralj", "Zupan", "Bizjak", "Hribar", "Korošec"]


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    organization: str
    domain: str

    def fields(self) -> dict[str, FieldValue]:
        return {
            "full_name": self.name, "job_title": "svetovalka za odnose z javnostmi",
            "email": self.email, "organization_type": "obcina",
            "organization": self.organization, "role": "pr_staff", "consent": True,
            "experience": "beginner", "interests": ["media_relations", "social_media"],
            "place_date": "Kranj, 3. 2. 2021",
        }


def people(count: int, rng: random.Random) -> list[Person]:
    towns = _municipalities()
    chosen = []
    for number in range(count):
        town, official = towns[number % len(towns)]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        domain = _ascii(town) + ".si"
        chosen.append(Person(f"{first} {last}", f"{_ascii(first)}.{_ascii(last)}{number}@{domain}",
                             official, domain))
    return chosen


def body_declaration(fields: dict[str, FieldValue]) -> str:
    """The declaration typed into the body, labels and choices as the form words them."""
    lines = ["IZJAVA O PRISTOPU K MREŽI KOMUNIKATORJEV V OBČINAH IN OBČINSKIH JAVNIH ZAVODIH", ""]
    for spec in FIELDS:
        value = fields.get(spec.name)
        if spec.kind == "set" or spec.name == "consent" or not isinstance(value, str):
            continue
        shown = {choice.value: choice.label for choice in spec.choices}
        lines.append(f"{spec.label}: {shown.get(value, value)}")
    lines.append("Soglasje: [x] soglašam")
    return "\n".join(lines) + "\n\nLep pozdrav"


def typed_pdf(lines: Sequence[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    for number, line in enumerate(lines):
        page.drawString(72, 800 - 18 * number, line)
    page.save()
    return buffer.getvalue()


@dataclass(frozen=True)
class Pool:
    docx: list[tuple[Person, bytes]]
    pdf: list[tuple[Person, bytes]]
    invoice: bytes


def make_pool(size: int, rng: random.Random) -> Pool:
    """`size` filled DOCX and PDF forms of different people; filling costs ~20 ms each."""
    blank_d, blank_p = blank_docx(), blank_pdf()
    everyone = people(2 * size, rng)
    docx = [(p, fill_docx(p.fields(), blank=blank_d)) for p in everyone[:size]]
    pdf = [(p, fill_pdf(p.fields(), blank=blank_p)) for p in everyone[size:]]
    return Pool(docx, pdf, typed_pdf(["RAČUN 2021-0042", "Znesek: 120,00 EUR"]))


def _mail(sender: str, subject: str, body: str, number: int, when: datetime,
          attachments: Sequence[tuple[str, str, bytes]] = (),
          headers: Sequence[tuple[str, str]] = ()) -> bytes:
    return mail(sender, subject, body, number=number, when=when, attachments=attachments,
                headers=headers, prefix="bench")


@dataclass(frozen=True)
class Item:
    kind: str
    raw: bytes
    when: datetime


def build_messages(count: int, pool: Pool, rng: random.Random) -> list[Item]:
    """`count` messages of mixed kinds, received between 1 and 8 February 2021 (on time)."""
    start = datetime(2021, 2, 1, 8, 0, tzinfo=ZONE)
    span = timedelta(days=7).total_seconds()
    items = []
    for number in range(1, count + 1):
        when = start + timedelta(seconds=span * number / (count + 1))
        roll = rng.random()
        # Each message its own sender: the per-address daily reply limit must not thin out
        # the replies the benchmark is meant to send.
        if roll < 0.40:
            person, data = pool.docx[number % len(pool.docx)]
            kind = "docx"
            raw = _mail(f"{person.name} <tajnistvo{number}@{person.domain}>",
                        "Izjava o pristopu k mreži komunikatorjev",
                        "Pozdravljeni,\n\nv prilogi pošiljam izpolnjeno izjavo.\n", number, when,
                        [(f"izjava-{number}.docx", DOCX_TYPE, data)])
        elif roll < 0.70:
            person, data = pool.pdf[number % len(pool.pdf)]
            kind = "pdf"
            raw = _mail(f"{person.name} <tajnistvo{number}@{person.domain}>",
                        "Pristop k mreži komunikatorjev", "Lep pozdrav", number, when,
                        [(f"Izjava-{number}.pdf", "application/pdf", data)])
        elif roll < 0.75:
            first, one = pool.docx[number % len(pool.docx)]
            _, two = pool.pdf[(number * 7) % len(pool.pdf)]
            kind = "docx+pdf"
            raw = _mail(f"{first.name} <tajnistvo{number}@{first.domain}>",
                        "Izjavi o pristopu", "Pošiljam izjavi dveh sodelavcev.", number, when,
                        [(f"izjava-{number}-1.docx", DOCX_TYPE, one),
                         (f"izjava-{number}-2.pdf", "application/pdf", two)])
        elif roll < 0.87:
            person = people(1, random.Random(number))[0]
            person = Person(person.name, f"oseba{number}@{person.domain}", person.organization,
                            person.domain)
            kind = "body"
            raw = _mail(f"{person.name} <{person.email}>", "Izjava o pristopu",
                        body_declaration(person.fields()), number, when)
        else:
            kind = "ignored"
            which = number % 4
            if which == 0:
                raw = _mail("Marko Horvat <marko.horvat@skupnostobcin.si>",
                            f"Sestanek {number}", "Metka, ali lahko sestanek prestaviva?\n",
                            number, when)
            elif which == 1:
                raw = _mail("Novice SOS <novice@skupnostobcin.si>", f"Novice SOS {number}",
                            "Preberite novice tega tedna ...", number, when,
                            headers=[("List-Unsubscribe", "<mailto:odjava@skupnostobcin.si>"),
                                     ("Precedence", "bulk")])
            elif which == 2:
                raw = _mail(f"Oseba <odsotna{number}@kranj.si>", "Odsotnost: Izjava o pristopu",
                            "Do 15. 2. sem odsotna.", number, when,
                            headers=[("Auto-Submitted", "auto-replied")])
            else:
                raw = _mail("Računovodstvo <racuni@dobavitelj.si>", f"Račun 2021-{number}",
                            "V prilogi vam pošiljamo račun.", number, when,
                            [("racun.pdf", "application/pdf", pool.invoice)])
        items.append(Item(kind, raw, when))
    return items


def append_all(account: ImapAccount, items: Sequence[Item]) -> None:
    with account.client(timeout=120) as client:
        if b"MULTIAPPEND" in client.capabilities():
            for start in range(0, len(items), APPEND_BATCH):
                client.multiappend("INBOX", [
                    {"msg": item.raw, "date": item.when}
                    for item in items[start:start + APPEND_BATCH]
                ])
        else:
            for item in items:
                client.append("INBOX", item.raw, msg_time=item.when)


# --- servers ---------------------------------------------------------------------------------


@dataclass
class Servers:
    kind: str
    root: Path
    dovecot: Dovecot | None = None
    pymaps: list[EmbeddedImap] = field(default_factory=list)
    sink: MailSink | None = None

    def account(self) -> ImapAccount:
        """A fresh, empty mailbox."""
        if self.dovecot is not None:
            return self.dovecot.add_user()
        imap = EmbeddedImap().start()
        self.pymaps.append(imap)
        return ImapAccount("pymap", imap.host, imap.port, imap.user, imap.password)


@contextmanager
def servers(kind: str, root: Path) -> Iterator[Servers]:
    running = Servers(kind, root)
    running.sink = MailSink().start()
    try:
        if kind == "dovecot":
            running.dovecot = Dovecot(root / "dovecot").start()
        yield running
    finally:
        if running.dovecot is not None:
            running.dovecot.stop()
        for imap in running.pymaps:
            imap.stop()
        running.sink.stop()


def write_config(path: Path, account: ImapAccount, sink: MailSink, database_url: str) -> Path:
    path.write_text(
        account.config_toml()
        + f'[smtp]\nhost = "{sink.host}"\nport = {sink.port}\nsecurity = "none"\n'
        'username = ""\ntimeout = 30\n'
        f'[database]\nurl = "{database_url}"\n'
    )
    return path


# --- measuring a process tree ----------------------------------------------------------------


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as children:
                found.extend(int(child) for child in children.read().split())
    except OSError:
        pass
    return found


@dataclass
class TreeMemory:
    """Peaks seen by sampling /proc every `every` seconds while the command runs."""

    main_hwm_kb: int = 0  # VmHWM of the intake process (the kernel's own high-water mark)
    worker_hwm_kb: int = 0  # the largest VmHWM of any sandbox worker
    workers_seen: int = 0
    tree_rss_kb: int = 0  # the largest sum of VmRSS over the intake process and its workers


def sample_tree(pid: int, memory: TreeMemory, done: threading.Event, every: float) -> None:
    workers: set[int] = set()
    while not done.is_set():
        main_hwm = _status_kb(pid, "VmHWM")
        memory.main_hwm_kb = max(memory.main_hwm_kb, main_hwm)
        total = _status_kb(pid, "VmRSS")
        for child in _children(pid):
            workers.add(child)
            memory.worker_hwm_kb = max(memory.worker_hwm_kb, _status_kb(child, "VmHWM"))
            total += _status_kb(child, "VmRSS")
        memory.tree_rss_kb = max(memory.tree_rss_kb, total)
        memory.workers_seen = len(workers)
        done.wait(every)


@dataclass(frozen=True)
class Run:
    seconds: float
    stdout: str
    stderr: str
    returncode: int
    maxrss_kb: int  # wait4's ru_maxrss: the largest of the process and its reaped children
    memory: TreeMemory


def run_intake(config: Path, *args: str, every: float = 0.05) -> Run:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "intake", "-c", str(config), *args],
                                   stdout=out, stderr=err, cwd=ROOT)
        memory, done = TreeMemory(), threading.Event()
        sampler = threading.Thread(target=sample_tree, args=(process.pid, memory, done, every))
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(seconds, out.read().decode(), err.read().decode(), process.returncode,
                   usage.ru_maxrss, memory)


# --- the floor -------------------------------------------------------------------------------


def floor(account: ImapAccount) -> tuple[float, int]:
    """Seconds to fetch every message of the mailbox and parse its attachments and body,
    and how many messages that was."""
    started = time.perf_counter()
    count = 0
    with account.client(timeout=120) as client:
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search(["ALL"]))
        for start in range(0, len(uids), FETCH_BATCH):
            batch = client.fetch(uids[start:start + FETCH_BATCH], ["BODY.PEEK[]"])
            for item in batch.values():
                message = email.message_from_bytes(item[b"BODY[]"], policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                body = message.get_body(("plain", "html"))
                parse_body(body.get_content() if body is not None else "")
                for part in message.iter_attachments():
                    data = part.get_payload(decode=True)
                    if isinstance(data, bytes):
                        parse_document(data, part.get_filename())
                count += 1
    return time.perf_counter() - started, count


# --- one mailbox through the pipeline ----------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    messages: int
    kinds: dict[str, int]
    build_s: float
    append_s: float
    run: Run
    cycle_s: float  # the cycle's own time, from the command's summary line
    floor_s: float
    config: Path
    account: ImapAccount


def scenario(running: Servers, messages: int, pool: Pool, database_url: str | None,
             with_floor: bool = True) -> Scenario:
    assert running.sink is not None
    label = f"n{messages}-{time.monotonic_ns()}"
    directory = running.root / label
    directory.mkdir()
    rng = random.Random(messages)
    started = time.perf_counter()
    items = build_messages(messages, pool, rng)
    build_s = time.perf_counter() - started
    kinds: dict[str, int] = {}
    for item in items:
        kinds[item.kind] = kinds.get(item.kind, 0) + 1
    account = running.account()
    started = time.perf_counter()
    append_all(account, items)
    append_s = time.perf_counter() - started
    del items
    url = database_url or f"sqlite:///{directory / 'intake.db'}"
    config = write_config(directory / "config.toml", account, running.sink, url)
    upgraded = run_intake(config, "db", "upgrade")  # the schema is not what is measured
    if upgraded.returncode != 0:
        raise SystemExit(f"intake db upgrade failed:\n{upgraded.stderr}")
    sent_before = len(running.sink.envelopes)
    run = run_intake(config, "poll", "--once")
    if run.returncode != 0 or not run.stdout.startswith(f"{messages} new"):
        raise SystemExit(f"intake poll --once did not take {messages} messages:\n"
                         f"{run.stdout}\n{run.stderr[-3000:]}")
    summary = run.stdout.strip().splitlines()[-1]
    cycle_s = float(summary.rsplit(";", 1)[1].strip().removesuffix(" s"))
    print(f"  poll --once: {summary}")
    print(f"  replies received by the sink: {len(running.sink.envelopes) - sent_before}")
    # The outbox sends at most 500 replies a cycle: later cycles send the rest. Not part of
    # the figure, but the mailbox must be fully processed before any idle poll is timed.
    while True:
        drain = run_intake(config, "poll", "--once", every=0.5)
        if drain.returncode != 0:
            raise SystemExit(f"intake poll --once failed:\n{drain.stderr[-3000:]}")
        if drain.stdout.startswith("0 new; 0 replies sent"):
            break
        print(f"  next poll --once: {drain.stdout.strip()} ({drain.seconds:.2f} s wall)")
    floor_s = floor(account)[0] if with_floor else float("nan")
    return Scenario(messages, kinds, build_s, append_s, run, cycle_s, floor_s, config, account)


def report(scenarios: Sequence[Scenario]) -> None:
    print()
    print(f"{'N':>6} {'seconds':>8} {'cycle s':>8} {'msg/s':>7} {'ms/msg':>7} "
          f"{'main MB':>8} {'worker MB':>9} {'tree MB':>8} {'floor s':>8} {'ratio':>6} "
          f"{'cycle/floor':>11}")
    for item in scenarios:
        run, n = item.run, item.messages
        print(f"{n:>6} {run.seconds:>8.2f} {item.cycle_s:>8.2f} {n / run.seconds:>7.1f} "
              f"{1000 * run.seconds / n:>7.2f} {run.memory.main_hwm_kb / 1024:>8.1f} "
              f"{run.memory.worker_hwm_kb / 1024:>9.1f} {run.memory.tree_rss_kb / 1024:>8.1f} "
              f"{item.floor_s:>8.2f} {run.seconds / item.floor_s:>6.2f} "
              f"{item.cycle_s / item.floor_s:>11.2f}")
    print("  seconds: wall time of `python -m intake poll --once` (start-up, imports, sandbox "
          "workers, the cycle); cycle s: the cycle's own time from its summary line;")
    print("  main MB: VmHWM of the intake process; worker MB: the largest VmHWM of a sandbox "
          "worker; tree MB: the largest sampled sum of VmRSS over the process and its workers;")
    print("  floor s: imapclient BODY.PEEK[] in batches of 50 + stdlib email + parse_document/"
          f"parse_body in-process; ratio: seconds/floor (target <= {RATIO_TARGET}).")


# --- polls that find nothing -----------------------------------------------------------------


def idle_polls(config: Path, repeats: int, command_repeats: int) -> tuple[list[float], list[float]]:
    """Milliseconds of in-process poll_once calls and of whole `poll --once` commands, on a
    mailbox whose every message is already processed."""
    from intake.bootstrap import (
        build_pipeline,
        mailbox_opener,
        open_database,
        sandbox_for,
        smtp_connection,
    )
    from intake.config import load_settings
    from intake.cycle import poll_once

    settings = load_settings(config)
    database = open_database(settings)
    opener = mailbox_opener(settings)
    in_process = []
    with sandbox_for(settings) as sandbox:
        pipeline = build_pipeline(settings, database, sandbox.parse)
        for _ in range(repeats + 1):  # the first one warms caches and imports
            started = time.perf_counter()
            cycle = poll_once(pipeline, opener, smtp_connection(settings),
                              batch_size=settings.mailbox.batch_size)
            in_process.append((time.perf_counter() - started) * 1000)
            assert cycle.new == 0 and cycle.outbox.sent == 0, cycle.summary()
    database.engine.dispose()
    commands = []
    for _ in range(command_repeats):
        run = run_intake(config, "poll", "--once", every=0.5)
        assert run.stdout.startswith("0 new; 0 replies sent"), run.stdout + run.stderr
        commands.append(run.seconds * 1000)
    return in_process[1:], commands


def idle_report(rows: Sequence[tuple[int, list[float], list[float]]]) -> None:
    print()
    print(f"{'processed':>9} {'poll_once ms (median)':>22} {'min':>7} {'max':>7} "
          f"{'poll --once command ms (median)':>32}")
    for processed, in_process, commands in rows:
        print(f"{processed:>9} {statistics.median(in_process):>22.1f} {min(in_process):>7.1f} "
              f"{max(in_process):>7.1f} {statistics.median(commands):>32.1f}")
    if len(rows) == 2:
        small = statistics.median(rows[0][1])
        large = statistics.median(rows[1][1])
        print(f"  poll_once at {rows[1][0]} / at {rows[0][0]}: {large / small:.2f}x "
              f"(target <= 2); at {rows[1][0]}: {large:.1f} ms (target < {IDLE_TARGET_MS:g})")


# --- main ------------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--server", choices=("pymap", "dovecot"),
                        default="dovecot" if DOVECOT else "pymap")
    parser.add_argument("--rss-check", action="store_true",
                        help="also run 10,000 messages and compare peak RSS")
    parser.add_argument("--idle-check", action="store_true",
                        help="time polls with 0 new messages at 10 and --idle-messages")
    parser.add_argument("--idle-messages", type=int, default=10_000)
    parser.add_argument("--idle-repeats", type=int, default=9)
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL URL of an EMPTY database (default: SQLite in a temp "
                        "dir); only for a single run, as every run needs a fresh database")
    parser.add_argument("--pool", type=int, default=100,
                        help="filled forms per kind to build the messages from")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args(argv)

    rng = random.Random(4)
    started = time.perf_counter()
    pool = make_pool(args.pool, rng)
    print(f"server {args.server}; {args.pool} filled DOCX and PDF forms in "
          f"{time.perf_counter() - started:.1f} s; python {sys.version.split()[0]}; "
          f"{os.cpu_count()} CPUs")
    root = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    os.chmod(root, 0o777)
    scenarios: list[Scenario] = []
    by_size: dict[int, Scenario] = {}
    with servers(args.server, root) as running:

        def run_size(n: int, with_floor: bool = True) -> Scenario:
            if n in by_size:
                return by_size[n]
            print(f"\n{n} messages:")
            item = scenario(running, n, pool, args.database_url, with_floor)
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(item.kinds.items()))
            print(f"  built in {item.build_s:.1f} s ({kinds}); appended in {item.append_s:.1f} s; "
                  f"floor {item.floor_s:.2f} s")
            by_size[n] = item
            scenarios.append(item)
            return item

        main_run = run_size(args.messages)
        if args.rss_check:
            # No floor at 10,000: the ratio target is judged at --messages.
            big = run_size(10_000, with_floor=False)
        if args.idle_check:
            idle_rows = []
            for n in (10, args.idle_messages):
                item = run_size(n, with_floor=False)
                print(f"\nidle polls at {n} processed ...")
                in_process, commands = idle_polls(item.config, args.idle_repeats, 3)
                idle_rows.append((n, in_process, commands))
        report(sorted(scenarios, key=lambda s: s.messages))
        ok = main_run.run.seconds / main_run.floor_s <= RATIO_TARGET
        print(f"  end to end / floor at {main_run.messages}: "
              f"{main_run.run.seconds / main_run.floor_s:.2f}x "
              f"({'within' if ok else 'OVER'} the {RATIO_TARGET}x target)")
        if args.rss_check:
            small_kb = main_run.run.memory.main_hwm_kb
            big_kb = big.run.memory.main_hwm_kb
            workers = (big.run.memory.worker_hwm_kb
                       / max(1, main_run.run.memory.worker_hwm_kb))
            print(f"  peak RSS of the intake process at 10000 / at {main_run.messages}: "
                  f"{big_kb / small_kb:.2f}x (target <= {RSS_TARGET}); workers {workers:.2f}x")
        if args.idle_check:
            idle_report(idle_rows)
    if not args.keep:
        subprocess.run(["rm", "-rf", str(root)], check=False)
    else:
        print(f"kept {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
