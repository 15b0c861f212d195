"""Crashes at every step: the process is killed with SIGKILL (no cleanup, no `finally`) and
started again. Nothing is lost, no member is duplicated, every reply goes out once — except
in the one window SMTP itself leaves open (RFC 1047), where a resend carries the same
Message-ID."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import pytest

from intake.embedded import MailSink
from intake.samples import sample_mailbox
from tests.harness import intake, seed, submissions, write_config
from tests.servers import ImapAccount

PICKED = ("accepted-docx", "incomplete-no-declaration", "colleague-note", "accepted-body")
SAMPLES = [sample for sample in sample_mailbox() if sample.name in PICKED]


@pytest.mark.parametrize("point", ["raw_kept", "decided", "smtp_accepted"])
def test_killed_and_restarted_loses_nothing_and_answers_once(
    tmp_path: Path, pymap_account: ImapAccount, mail_sink: MailSink, database_url: str,
    point: str,
) -> None:
    """GIVEN four messages (three applications, one colleague's note)
    WHEN `intake poll --once` is killed with SIGKILL at `point` and then run again
    THEN every message is decided once, each member stored once, and each applicant has
    exactly one reply — or, killed after SMTP accepted, at most one resend with the same
    Message-ID."""
    seed(pymap_account, SAMPLES)
    config = write_config(tmp_path, pymap_account, mail_sink, database_url)

    crashed = intake(config, "poll", "--once", env={"INTAKE_CRASH_AT": point}, check=False)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr

    intake(config, "poll", "--once")
    intake(config, "poll", "--once")  # and once more: nothing left to do

    rows = submissions(config)
    assert Counter(row["status"] for row in rows) == Counter(s.status for s in SAMPLES)
    assert len({row["message_id"] for row in rows}) == len(SAMPLES)
    # Nothing is left half-sent: a claim left by the killed process was taken up again.
    assert {row["reply"]["status"] for row in rows if row["reply"]} == {"sent"}  # type: ignore[index]
    members = intake(config, "members", "--format", "json").stdout.splitlines()
    assert len(members) == 2

    answered = Counter(s.sender for s in SAMPLES if s.answered)
    envelopes = mail_sink.wait_for(len(answered))
    received = Counter(rcpt for e in envelopes for rcpt in e.rcpt_tos)
    assert set(received) == set(answered)
    if point == "smtp_accepted":
        # The first reply was accepted by the server and the process died before recording
        # it: sent again, byte for byte, so the Message-ID is the same.
        assert sum(received.values()) <= len(answered) + 1
        by_recipient: dict[str, set[str]] = {}
        for envelope in envelopes:
            by_recipient.setdefault(envelope.rcpt_tos[0], set()).add(
                str(envelope.message["Message-ID"]))
        assert all(len(ids) == 1 for ids in by_recipient.values())
    else:
        assert received == answered
