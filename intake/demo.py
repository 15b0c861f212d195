"""`intake demo`: the whole job on an embedded mailbox and mail sink, with nothing to set up.

It starts a real IMAP server (pymap) and a real SMTP sink (aiosmtpd) on free loopback ports,
puts the sample applications of intake.samples into the mailbox, and runs the worker's own
poll job and the digest on a fresh SQLite database in the demo folder. Everything it writes
stays in that folder.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

from imapclient import IMAPClient

from intake.bootstrap import (
    build_pipeline,
    mailbox_opener,
    open_database,
    sandbox_for,
    smtp_connection,
)
from intake.config import Settings, parse_settings
from intake.coordinator import digest_data, member_rows, send_digest
from intake.digest import render_html
from intake.embedded import EmbeddedImap, Envelope, MailSink
from intake.export import members_csv, members_xlsx
from intake.forms import write_forms
from intake.listing import submission_rows
from intake.samples import COORDINATOR, sample_mailbox
from jobs.poll import Worker, poll

Say = Callable[[str], None]

USER, PASSWORD = "metka.lasic@skupnostobcin.si", "demo"


@dataclass(frozen=True)
class DemoResult:
    directory: Path
    rows: list[dict[str, object]]
    replies: list[Path]


def demo_settings(directory: Path, imap: EmbeddedImap, sink: MailSink,
                  poll_every: str = "2s") -> Settings:
    text = f"""
[mailbox]
host = "{imap.host}"
port = {imap.port}
security = "none"
username = "{USER}"
password = "{PASSWORD}"
timeout = 10
[smtp]
host = "{sink.host}"
port = {sink.port}
security = "none"
username = ""
timeout = 10
max_replies_per_address_per_day = 10
[database]
url = "sqlite:///{(directory / 'intake.db').resolve()}"
[schedule]
poll_every = "{poll_every}"
[digest]
to = ["{COORDINATOR}"]
"""
    return parse_settings(text, "(demo)")


def fresh_directory(directory: Path) -> None:
    """The demo starts from nothing each time; only its own files are removed."""
    for name in ("intake.db", "intake.db-wal", "intake.db-shm", "intake.db.lock",
                 "digest.html", "members.csv", "members.xlsx"):
        (directory / name).unlink(missing_ok=True)
    for name in ("replies", "forms"):
        shutil.rmtree(directory / name, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)


def run_demo(directory: Path, say: Say, *, serve: bool = False,
             stop: threading.Event | None = None) -> DemoResult:
    fresh_directory(directory)
    started = time.monotonic()
    with EmbeddedImap(user=USER, password=PASSWORD) as imap, \
            MailSink(save_dir=directory / "replies") as sink:
        say(f"mailbox: IMAP on {imap.host}:{imap.port}, mail sink: SMTP on "
            f"{sink.host}:{sink.port}")
        samples = sample_mailbox()
        with IMAPClient(imap.host, imap.port, ssl=False, timeout=10) as client:
            client.login(USER, PASSWORD)
            for sample in samples:
                client.append("INBOX", sample.raw, flags=sample.flags,
                              msg_time=sample.received_at)
        say(f"put {len(samples)} messages in the mailbox (applications, a colleague's note, "
            "a newsletter, an out-of-office reply, an invoice)")
        settings = demo_settings(directory, imap, sink)
        database = open_database(settings)
        with sandbox_for(settings) as sandbox:
            pipeline = build_pipeline(settings, database, sandbox.parse)
            worker = Worker(settings, pipeline, mailbox_opener(settings),
                            lambda: smtp_connection(settings))
            say("running one poll cycle of the worker ...")
            poll(worker)
            zone = settings.campaign.timezone
            today = datetime.now(UTC).astimezone(zone).date()
            say(send_digest(database.sessions, pipeline, smtp_connection(settings), today, zone,
                            settings.digest.to, force=True))
            with database.sessions() as session:
                rows = submission_rows(session, zone)
                data = digest_data(session, today, zone)
                members = member_rows(session)
            (directory / "digest.html").write_text(render_html(data), encoding="utf-8")
            (directory / "members.csv").write_bytes(members_csv(members, tz=zone))
            (directory / "members.xlsx").write_bytes(members_xlsx(members, tz=zone))
            write_forms(directory / "forms")
            say(f"done in {time.monotonic() - started:.1f} s")
            if serve:
                _serve(worker, imap, sink, say, stop or threading.Event())
        replies = sorted((directory / "replies").glob("*.eml"))
    return DemoResult(directory, rows, replies)


def _serve(worker: Worker, imap: EmbeddedImap, sink: MailSink, say: Say,
           stop: threading.Event) -> None:
    def deliver(envelope: Envelope) -> None:
        # A tiny MTA: mail for the coordinator lands in her mailbox, as it would in life.
        if USER in [rcpt.lower() for rcpt in envelope.rcpt_tos] and \
                envelope.mail_from.lower() != USER:
            with IMAPClient(imap.host, imap.port, ssl=False, timeout=10) as client:
                client.login(USER, PASSWORD)
                client.append("INBOX", envelope.data, msg_time=datetime.now(UTC))

    sink.handler.on_message = deliver
    # A line every two seconds saying nothing happened would bury the replies.
    logging.getLogger("intake.worker").setLevel(logging.WARNING)
    say("")
    say("The servers stay up; send your own mail and watch it processed:")
    say(f"  IMAP  {imap.host}:{imap.port}  user {USER}  password {PASSWORD}  (no TLS)")
    say(f"  SMTP  {sink.host}:{sink.port}  (no TLS, no login)")
    say(f"  Send a declaration to {USER} through that SMTP server (it lands in the mailbox), "
        "or APPEND it over IMAP; replies are kept by the SMTP server, in replies/. "
        "Polling every 2 s; Ctrl-C stops.")
    seen = len(sink.envelopes)
    while not stop.wait(worker.settings.poll_every.total_seconds()):
        poll(worker)
        for envelope in sink.envelopes[seen:]:
            message = message_from_bytes(envelope.data, policy=policy.default)
            if envelope.mail_from.lower() == USER:
                say(f"  reply to {', '.join(envelope.rcpt_tos)}: {message['Subject']}")
            else:
                say(f"  received from {envelope.mail_from}: {message['Subject']}")
        seen = len(sink.envelopes)


def render_outcome(result: DemoResult) -> str:
    """The table of what became of each message, the replies, and where everything is."""
    lines = ["", "What became of each message:", ""]
    lines.append(f"  {'received':<16}  {'from':<34}  {'status':<12}  reasons")
    for row in result.rows:
        received = str(row["received_at"])[:16].replace("T", " ")
        reasons = ", ".join(str(code) for code in row["reasons"]) or "-"  # type: ignore[attr-defined]
        lines.append(f"  {received:<16}  {str(row['sender'])[:34]:<34}  "
                     f"{row['status']!s:<12}  {reasons}")
    replies = [message_from_bytes(path.read_bytes(), policy=policy.default)
               for path in result.replies]
    replies = [m for m in replies if str(m.get("To", "")) != COORDINATOR]  # not the digest
    lines += ["", f"Replies sent ({len(replies)}):", ""]
    for message in replies:
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        first = [line for line in text.splitlines() if line.strip()][1:3]
        lines.append(f"  to {message['To']}: {message['Subject']}")
        lines += [f"      {line}" for line in first]
    where = result.directory
    lines += [
        "", f"Everything is in {where}/:",
        f"  {where}/intake.db          the database (SQLite)",
        f"  {where}/replies/*.eml      every message sent, as the mail sink received it",
        f"  {where}/digest.html        the coordinator's daily digest",
        f"  {where}/members.csv, .xlsx the members",
        f"  {where}/forms/             the blank declaration, DOCX and fillable PDF",
        "",
        f"Look around: intake -c <config> ... works on it too, e.g. "
        f"`intake submissions` with [database] url = \"sqlite:///{where}/intake.db\".",
    ]
    return "\n".join(lines)
