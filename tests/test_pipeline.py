"""End to end: a seeded mailbox, one `intake poll --once`, and exactly what became of each
message — statuses, reasons, members, replies — on pymap and on Dovecot, SQLite and
PostgreSQL."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from intake.embedded import MailSink
from intake.samples import sample_mailbox
from tests.harness import flags_by_message_id, intake, seed, submissions, write_config
from tests.servers import ImapAccount

SAMPLES = sample_mailbox()


def test_one_poll_decides_every_message_and_answers_once(
    tmp_path: Path, imap_account: ImapAccount, mail_sink: MailSink, database_url: str,
) -> None:
    """GIVEN a mailbox with an example of every status and reason, and unrelated mail
    WHEN `intake poll --once` runs, and then runs again
    THEN each message has its expected status and reasons, every applicant got exactly one
    threaded automatic reply (the blank form attached when incomplete), unrelated mail kept
    its flags and got nothing, and the second poll fetches and sends nothing."""
    flags_before = seed(imap_account, SAMPLES)
    config = write_config(tmp_path, imap_account, mail_sink, database_url)

    first = intake(config, "poll", "--once")
    assert first.stdout.startswith(f"{len(SAMPLES)} new")

    rows = submissions(config)
    by_message: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        by_message.setdefault(str(row["message_id"]), []).append(row)
    for sample in SAMPLES:
        found = by_message[sample.message_id]
        statuses = {row["status"] for row in found}
        reasons = {reason for row in found for reason in row["reasons"]}  # type: ignore[attr-defined]
        assert statuses == {sample.status}, sample.name
        assert reasons == set(sample.reasons), sample.name

    envelopes = mail_sink.wait_for(sum(s.answered for s in SAMPLES))
    recipients = Counter(rcpt for envelope in envelopes for rcpt in envelope.rcpt_tos)
    expected = Counter(sample.sender for sample in SAMPLES if sample.answered)
    assert recipients == expected
    for envelope in envelopes:
        reply = envelope.message
        assert reply["Auto-Submitted"] == "auto-replied"
        assert reply["X-Auto-Response-Suppress"] == "All"
        assert str(reply["Subject"]).startswith("Re: ")
        assert reply["In-Reply-To"] and reply["References"].endswith(reply["In-Reply-To"])
        assert envelope.mail_from == "metka.lasic@skupnostobcin.si"
        attached = {part.get_filename() for part in reply.iter_attachments()}
        incomplete = any(s.status == "incomplete" and s.sender == envelope.rcpt_tos[0]
                         for s in SAMPLES)
        assert attached == ({"izjava-o-pristopu.docx", "izjava-o-pristopu.pdf"}
                            if incomplete else set())

    assert flags_by_message_id(imap_account) == flags_before

    second = intake(config, "poll", "--once")
    assert second.stdout.startswith("0 new; 0 replies sent")
    assert len(mail_sink.envelopes) == len(envelopes)
