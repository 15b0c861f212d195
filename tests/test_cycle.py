"""The orchestrator's edges, in process against real servers: an unexpected error, an
oversized message, mail from before the call, a changed UIDVALIDITY, the reply limits, and
moving applications (never other mail)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from sqlalchemy import select

from intake.bootstrap import build_pipeline, mailbox_opener, open_database, smtp_connection
from intake.config import Settings, parse_settings
from intake.coordinator import digest_data
from intake.cycle import CycleReport, Parse, Pipeline, poll_once
from intake.embedded import MailSink
from intake.samples import sample_mailbox
from parsers.document import parse_document
from parsers.model import Declaration
from storage.models import Message, Reply
from tests.harness import seed
from tests.servers import ImapAccount

SAMPLES = {sample.name: sample for sample in sample_mailbox()}


def settings_for(account: ImapAccount, sink: MailSink, tmp_path: Path, extra: str = "",
                 mailbox_extra: str = "") -> Settings:
    return parse_settings(
        account.config_toml() + mailbox_extra
        + f'[smtp]\nhost = "{sink.host}"\nport = {sink.port}\nsecurity = "none"\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "intake.db"}"\n' + extra, "test")


Make = Callable[..., tuple[Settings, Pipeline]]


@pytest.fixture
def make(tmp_path: Path, pymap_account: ImapAccount, mail_sink: MailSink) -> Iterator[Make]:
    def build(parse: Parse = parse_document, extra: str = "", mailbox_extra: str = "",
              account: ImapAccount | None = None) -> tuple[Settings, Pipeline]:
        settings = settings_for(account or pymap_account, mail_sink, tmp_path, extra,
                                mailbox_extra)
        database = open_database(settings)
        return settings, build_pipeline(settings, database, parse)
    yield build


def cycle(settings: Settings, pipeline: Pipeline, writable: bool = False) -> CycleReport:
    return poll_once(pipeline, mailbox_opener(settings, writable=writable),
                     smtp_connection(settings), batch_size=settings.mailbox.batch_size,
                     processed_folder=settings.mailbox.processed_folder)


def test_an_unexpected_error_is_kept_for_review_and_the_batch_goes_on(
    make: Make, pymap_account: ImapAccount, mail_sink: MailSink,
) -> None:
    """GIVEN a parser that crashes on one document
    WHEN the cycle runs
    THEN that message is needs_review with internal_error and its traceback, it is answered
    only because it speaks of joining, the unrelated note is not answered, and the next
    message is decided normally."""
    def parse(data: bytes, name: str | None) -> list[Declaration]:
        if name == "izjava-novak.docx":
            raise RuntimeError("parser exploded")
        return parse_document(data, name)

    settings, pipeline = make(parse)
    seed(pymap_account, [SAMPLES["accepted-docx"], SAMPLES["colleague-note"],
                         SAMPLES["accepted-pdf"]])
    report = cycle(settings, pipeline)
    assert report.by_status == {"needs_review": 1, "ignored": 1, "accepted": 1}
    with pipeline.sessions() as session:
        crashed = session.scalars(
            select(Message).where(Message.sender == "ana.novak@kranj.si")).one()
        assert crashed.status == "needs_review"
        assert crashed.reasons == ["internal_error"]
        assert "RuntimeError: parser exploded" in (crashed.error or "")
    assert sorted(r for e in mail_sink.wait_for(2) for r in e.rcpt_tos) == [
        "ana.novak@kranj.si", "bojan.kovac@knjiznica-ptuj.si"]


def test_an_oversized_message_is_recorded_without_its_body(
    make: Make, pymap_account: ImapAccount, mail_sink: MailSink,
) -> None:
    settings, pipeline = make(extra="[limits]\nmax_message_bytes = 60000\n")
    big, small = SAMPLES["accepted-pdf"], SAMPLES["accepted-docx"]  # 99 KB and 53 KB
    seed(pymap_account, [big, small])
    cycle(settings, pipeline)
    with pipeline.sessions() as session:
        rows = {m.sender: m for m in session.scalars(select(Message))}
        kept = rows[big.sender]
        assert (kept.status, kept.reasons) == ("needs_review", ["unreadable_attachment"])
        assert kept.raw is not None and kept.raw.size < 5000  # only the header block
        assert kept.size == len(big.raw)
        assert rows[small.sender].status == "accepted"


def test_mail_from_before_the_call_is_not_looked_at(
    make: Make, pymap_account: ImapAccount, mail_sink: MailSink,
) -> None:
    settings, pipeline = make()
    early = SAMPLES["accepted-docx"]
    with pymap_account.client() as client:
        client.append("INBOX", early.raw, msg_time=datetime(2021, 1, 20, 9, 0, tzinfo=UTC))
    report = cycle(settings, pipeline)
    assert report.skipped_early == 1 and report.new == 0
    with pipeline.sessions() as session:
        assert session.scalars(select(Message)).all() == []
    assert mail_sink.envelopes == []


def test_a_changed_uidvalidity_does_not_process_anything_twice(
    make: Make, imap_account: ImapAccount, mail_sink: MailSink,
) -> None:
    """GIVEN a processed mailbox whose UIDVALIDITY the server then changes
    WHEN the next cycle re-reads the whole folder
    THEN messages already recorded are recognised by Message-ID and content, and only the
    new one is processed."""
    settings, pipeline = make(account=imap_account)
    seed(imap_account, [SAMPLES["accepted-docx"], SAMPLES["accepted-body"]])
    cycle(settings, pipeline)
    with pipeline.sessions.begin() as session:  # as if the server had renumbered
        for message in session.scalars(select(Message)):
            message.uidvalidity -= 1
        from storage.models import MailboxState

        state = session.scalars(select(MailboxState)).one()
        state.uidvalidity -= 1
    seed(imap_account, [SAMPLES["accepted-pdf"]])
    report = cycle(settings, pipeline)
    assert (report.new, report.duplicates) == (1, 2)
    assert len(mail_sink.wait_for(3)) == 3


def test_reply_limits_per_address_and_after_a_bounce(
    make: Make, pymap_account: ImapAccount, mail_sink: MailSink,
) -> None:
    settings, pipeline = make()  # default: 3 replies a day
    note = SAMPLES["incomplete-no-declaration"]
    copies = [note.__class__(f"{note.name}-{n}", note.raw.replace(
        b"<sample-8@", f"<sample-8-{n}@".encode()), note.received_at + timedelta(minutes=n),
        note.status, note.reasons, note.sender) for n in range(5)]
    seed(pymap_account, copies)
    cycle(settings, pipeline)
    assert len(mail_sink.wait_for(3)) == 3
    with pipeline.sessions() as session:
        states = sorted(r.state for r in session.scalars(select(Reply)))
        assert states == ["sent"] * 3 + ["suppressed"] * 2
        # The coordinator learns of the two held back in that day's digest.
        zone = settings.campaign.timezone
        day = pipeline.now().astimezone(zone).date()
        unsent = digest_data(session, day, zone).failed_replies
    assert [(f.recipient, f.error.split(":")[0]) for f in unsent] == [(note.sender, "zadržan")] * 2
    assert "max_replies_per_address_per_day" in unsent[0].error


def test_a_permanent_failure_stops_replies_to_that_address(
    make: Make, pymap_account: ImapAccount, mail_sink: MailSink,
) -> None:
    settings, pipeline = make()
    mail_sink.handler.fail_with, mail_sink.handler.fail_count = "550 5.1.1 no such user", 1
    seed(pymap_account, [SAMPLES["accepted-docx"]])
    report = cycle(settings, pipeline)
    assert report.outbox.failed == 1
    seed(pymap_account, [SAMPLES["accepted-updated"]])
    cycle(settings, pipeline)
    with pipeline.sessions() as session:
        states = [(r.state, (r.last_error or "")[:3]) for r in
                  session.scalars(select(Reply).order_by(Reply.id))]
    assert states == [("failed", "550"), ("suppressed", "an ")]
    assert mail_sink.envelopes == []


def test_a_reply_too_big_for_the_server_does_not_stop_later_replies(
    make: Make, pymap_account: ImapAccount, mail_sink: MailSink,
) -> None:
    """552 refuses the message (its size), not the address: the next reply still goes."""
    settings, pipeline = make()
    mail_sink.handler.fail_with, mail_sink.handler.fail_count = "552 5.3.4 message too big", 1
    seed(pymap_account, [SAMPLES["accepted-docx"]])
    assert cycle(settings, pipeline).outbox.failed == 1
    seed(pymap_account, [SAMPLES["accepted-updated"]])
    assert cycle(settings, pipeline).outbox.sent == 1
    with pipeline.sessions() as session:
        states = [r.state for r in session.scalars(select(Reply).order_by(Reply.id))]
    assert states == ["failed", "sent"]


def test_applications_are_moved_and_other_mail_stays(
    make: Make, imap_account: ImapAccount, mail_sink: MailSink,
) -> None:
    settings, pipeline = make(mailbox_extra='processed_folder = "Prijave"\n',
                              account=imap_account)
    seed(imap_account, [SAMPLES["accepted-docx"], SAMPLES["colleague-note"],
                        SAMPLES["newsletter"]])
    report = cycle(settings, pipeline, writable=True)
    assert report.moved == 1
    with imap_account.client() as client:
        client.select_folder("INBOX", readonly=True)
        left = client.fetch(client.search(["ALL"]), ["ENVELOPE", "FLAGS"])
        subjects = sorted(str(make_header(decode_header(item[b"ENVELOPE"].subject.decode())))
                          for item in left.values())
        assert subjects == ["Novice SOS, februar 2021", "Sestanek v četrtek"]
        assert all(b"\\Deleted" not in item[b"FLAGS"] for item in left.values())
        client.select_folder("Prijave", readonly=True)
        assert len(client.search(["ALL"])) == 1
