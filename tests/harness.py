"""Helpers for tests that drive the real `intake` command against real servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from intake.embedded import MailSink
from intake.samples import Sample
from tests.servers import ImapAccount

ROOT = Path(__file__).resolve().parents[1]


def seed(account: ImapAccount, samples: list[Sample]) -> dict[str, tuple[bytes, ...]]:
    """APPEND every sample with its receive time; the FLAGS of each, keyed by Message-ID."""
    with account.client() as client:
        for sample in samples:
            client.append("INBOX", sample.raw, flags=sample.flags, msg_time=sample.received_at)
    return flags_by_message_id(account)


def flags_by_message_id(account: ImapAccount) -> dict[str, tuple[bytes, ...]]:
    with account.client() as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        data = client.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    result = {}
    for item in data.values():
        header = item[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode().split(":", 1)[1].strip()
        result[header] = tuple(sorted(f for f in item[b"FLAGS"] if f != b"\\Recent"))
    return result


def write_config(tmp_path: Path, account: ImapAccount, sink: MailSink, database_url: str,
                 extra: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        account.config_toml()
        + f'[smtp]\nhost = "{sink.host}"\nport = {sink.port}\nsecurity = "none"\n'
        'username = ""\ntimeout = 10\n'
        f'[database]\nurl = "{database_url}"\n' + extra
    )
    return config


def intake(config: Path, *args: str, env: dict[str, str] | None = None,
           check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real command; `env` adds to the environment."""
    done = subprocess.run([sys.executable, "-m", "intake", "-c", str(config), *args],
                          capture_output=True, text=True, timeout=180, cwd=ROOT,
                          env={**os.environ, **(env or {})})
    if check:
        assert done.returncode == 0, done.stderr
    return done


def submissions(config: Path) -> list[dict[str, object]]:
    out = intake(config, "submissions", "--json").stdout
    return [json.loads(line) for line in out.splitlines()]
