"""Servers that go away: an IMAP connection cut mid-batch, SMTP down for a cycle, two
pollers at once on one PostgreSQL database, and the one-line errors an operator sees."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from intake.embedded import MailSink, free_port
from intake.samples import sample_mailbox
from tests.harness import ROOT, intake, seed, submissions, write_config
from tests.servers import CuttingProxy, ImapAccount

SAMPLES = sample_mailbox()
ANSWERED = Counter(s.sender for s in SAMPLES if s.answered)


def _assert_each_once(config: Path, sink: MailSink) -> None:
    rows = submissions(config)
    assert sorted({str(r["message_id"]) for r in rows}) == sorted(s.message_id for s in SAMPLES)
    by_message = Counter(str(r["message_id"]) for r in rows)
    assert by_message["<sample-15@maribor.si>"] == 3  # three declarations, once each
    assert sum(by_message.values()) == len(SAMPLES) + 2
    envelopes = sink.wait_for(sum(ANSWERED.values()))
    assert Counter(r for e in envelopes for r in e.rcpt_tos) == ANSWERED


def test_imap_connection_cut_mid_batch(tmp_path: Path, imap_account: ImapAccount,
                                       mail_sink: MailSink) -> None:
    """GIVEN a mailbox of 20 messages behind a proxy that cuts the connection after ~100 KB
    WHEN a poll is cut off mid-fetch, and the next poll runs over a sound connection
    THEN the first poll fails with one line, and after the second every message is decided
    once and answered once."""
    seed(imap_account, SAMPLES)
    proxy = CuttingProxy(imap_account.host, imap_account.port)
    try:
        cut = replace(imap_account, port=proxy.port)
        config = write_config(tmp_path, cut, mail_sink, f"sqlite:///{tmp_path / 'db.sqlite'}")
        # Small batches, so that some are committed before the cut.
        config.write_text(config.read_text().replace("timeout = 10\n", "timeout = 10\n"
                                                     "batch_size = 4\n", 1))
        proxy.cut_after = 450_000
        first = intake(config, "poll", "--once", check=False)
        assert proxy.cuts == 1
        assert first.returncode == 2
        assert first.stderr.startswith(f"intake: IMAP 127.0.0.1:{proxy.port}: ")
        assert len(first.stderr.splitlines()) == 1
        decided_first = len(submissions(config))
        assert 0 < decided_first < len(SAMPLES) + 2
        proxy.cut_after = None
        intake(config, "poll", "--once")
    finally:
        proxy.close()
    _assert_each_once(config, mail_sink)


def test_smtp_down_for_a_cycle(tmp_path: Path, pymap_account: ImapAccount) -> None:
    """GIVEN no SMTP server listening
    WHEN a poll runs, then the SMTP server comes up and the next poll runs
    THEN the first poll decides everything and says, in one line, that SMTP is unreachable;
    the replies go out on the next poll, once each."""
    seed(pymap_account, SAMPLES)
    port = free_port()
    sink = MailSink(port=port)
    config = write_config(tmp_path, pymap_account, sink, f"sqlite:///{tmp_path / 'db.sqlite'}")
    first = intake(config, "poll", "--once", check=False)
    assert first.returncode == 2
    assert first.stderr == f"intake: SMTP 127.0.0.1:{port}: connection refused\n"
    assert {r["reply"]["status"] for r in submissions(config) if r["reply"]} == {"pending"}  # type: ignore[index]
    with sink:
        intake(config, "poll", "--once")
        _assert_each_once(config, sink)


@pytest.mark.postgres
def test_two_pollers_at_once_on_postgres(tmp_path: Path, pymap_account: ImapAccount,
                                         mail_sink: MailSink, postgres_url: str) -> None:
    """GIVEN one mailbox and one PostgreSQL database
    WHEN two `intake poll --once` processes start at the same moment
    THEN each message is decided once and answered once."""
    seed(pymap_account, SAMPLES)
    config = write_config(tmp_path, pymap_account, mail_sink, postgres_url)
    intake(config, "db", "upgrade")  # so that the two do not race to create the schema
    command = [sys.executable, "-m", "intake", "-c", str(config), "poll", "--once"]
    pollers = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [poller.communicate(timeout=180) for poller in pollers]
    for poller, (_out, err) in zip(pollers, results, strict=True):
        assert poller.returncode == 0, err
    _assert_each_once(config, mail_sink)


def test_unreachable_imap_is_one_line(tmp_path: Path, mail_sink: MailSink) -> None:
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(f'[mailbox]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
                      f'username = "x"\npassword = "y"\ntimeout = 5\n'
                      f'[smtp]\nhost = "{mail_sink.host}"\nport = {mail_sink.port}\n'
                      f'security = "none"\n[database]\nurl = "sqlite:///{tmp_path}/x.db"\n')
    done = intake(config, "poll", "--once", check=False)
    assert done.returncode == 2
    assert done.stderr == f"intake: IMAP 127.0.0.1:{port}: connection refused\n"


def test_wrong_imap_password_and_missing_folder_are_one_line(
    tmp_path: Path, pymap_account: ImapAccount, mail_sink: MailSink,
) -> None:
    wrong = replace(pymap_account, password="wrong")
    config = write_config(tmp_path, wrong, mail_sink, f"sqlite:///{tmp_path}/x.db")
    done = intake(config, "poll", "--once", check=False)
    assert done.returncode == 2
    assert done.stderr.startswith(f"intake: IMAP 127.0.0.1:{wrong.port}: login as "
                                  f"'{wrong.user}' refused")
    assert len(done.stderr.splitlines()) == 1

    config.write_text(pymap_account.config_toml(folder="Prijave")
                      + f'[smtp]\nhost = "{mail_sink.host}"\nport = {mail_sink.port}\n'
                      f'security = "none"\n[database]\nurl = "sqlite:///{tmp_path}/x.db"\n')
    done = intake(config, "poll", "--once", check=False)
    assert done.returncode == 2
    assert "folder 'Prijave' cannot be opened" in done.stderr
    assert done.stderr.rstrip().endswith("the folders are: INBOX")
    assert len(done.stderr.splitlines()) == 1


def test_unreachable_database_is_one_line(tmp_path: Path, mail_sink: MailSink) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "postgresql+psycopg://nobody@127.0.0.1:1/none"\n')
    done = intake(config, "submissions", check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("intake: database postgresql+psycopg://nobody@127.0.0.1:1/"
                                  "none: ")
    assert len(done.stderr.splitlines()) == 1


def test_a_sqlite_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "sqlite:////proc/intake-nope/intake.db"\n')
    done = intake(config, "submissions", check=False)
    assert done.returncode == 2
    assert done.stderr == (f"intake: {config}: [database] url: cannot create the folder "
                           "/proc/intake-nope: No such file or directory\n")
