"""`intake demo`, as a newcomer runs it: no configuration, real servers, every status."""

from __future__ import annotations

import os
import re
import signal
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

from intake.samples import fill_docx, sample_mailbox
from tests.harness import ROOT

SAMPLES = sample_mailbox()


def test_demo_runs_the_whole_job(tmp_path: Path) -> None:
    """GIVEN nothing but the installed package
    WHEN `intake demo` runs in an empty folder
    THEN it exits 0 within 30 s, its table names every status with the sample's outcome,
    the replies went exactly to the senders that are not ignored, and the folder holds the
    database, the replies, the digest, the member lists and the blank forms."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "intake", "demo"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert elapsed < 30
    out = done.stdout
    table = out.split("What became of each message:")[1].split("Replies sent")[0]
    rows = [line.split(maxsplit=4) for line in table.strip().splitlines()[1:]]
    shown = [(row[3], tuple(row[4].split(", ")) if row[4] != "-" else ()) for row in rows]
    # The table lists declarations in arrival order; the three-person message has three.
    expected = [(s.status, s.reasons) for s in SAMPLES
                for _ in range(3 if s.name == "three-declarations" else 1)]
    assert shown == expected
    for status in ("accepted", "needs_review", "incomplete", "rejected", "ignored"):
        assert f" {status} " in table

    replied_to = re.findall(r"^  to (\S+): Re: ", out, re.MULTILINE)
    assert sorted(replied_to) == sorted(s.sender for s in SAMPLES if s.answered)

    folder = tmp_path / "intake-demo"
    for name in ("intake.db", "digest.html", "members.csv", "members.xlsx",
                 "forms/izjava-o-pristopu.docx", "forms/izjava-o-pristopu.pdf"):
        assert (folder / name).is_file(), name
    # one .eml per reply, and the digest
    assert len(list((folder / "replies").glob("*.eml"))) == len(replied_to) + 1
    assert "Čaka na vašo odločitev" in (folder / "digest.html").read_text(encoding="utf-8")


def test_demo_serve_answers_mail_sent_by_any_client(tmp_path: Path) -> None:
    """GIVEN `intake demo --serve` running
    WHEN a declaration is sent through its printed SMTP port to the coordinator
    THEN intake picks it up from the printed IMAP mailbox and the applicant's reply arrives;
    SIGINT stops it with exit 0."""
    with subprocess.Popen([sys.executable, "-m", "intake", "demo", "--serve"], cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}) as demo:
        _talk_to(demo)
    assert demo.returncode == 0


def _talk_to(demo: subprocess.Popen[str]) -> None:
    try:
        assert demo.stdout is not None
        lines: list[str] = []
        imap = smtp = None
        deadline = time.monotonic() + 60
        while (imap is None or smtp is None) and time.monotonic() < deadline:
            line = demo.stdout.readline()
            lines.append(line)
            if found := re.match(r"\s+IMAP\s+(\S+):(\d+)\s+user (\S+)\s+password (\S+)", line):
                imap = found.groups()
            if found := re.match(r"\s+SMTP\s+(\S+):(\d+)", line):
                smtp = found.groups()
        assert imap and smtp, "".join(lines)

        from imapclient import IMAPClient

        with IMAPClient(imap[0], int(imap[1]), ssl=False, timeout=10) as client:
            client.login(imap[2], imap[3])
            before = client.select_folder("INBOX")[b"EXISTS"]

        message = EmailMessage()
        message["From"] = "Vesna Kralj <vesna.kralj@sezana.si>"
        message["To"] = "metka.lasic@skupnostobcin.si"
        message["Subject"] = "Izjava o pristopu k mreži komunikatorjev"
        message.set_content("V prilogi izjava.")
        message.add_attachment(
            fill_docx({"full_name": "Vesna Kralj", "job_title": "svetovalka",
                       "email": "vesna.kralj@sezana.si", "organization_type": "obcina",
                       "organization": "Občina Sežana", "role": "pr_staff", "consent": True}),
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
            filename="izjava.docx")
        with smtplib.SMTP(smtp[0], int(smtp[1]), timeout=10) as client:
            client.send_message(message)

        seen = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            seen.append(line)
            if line.startswith("  reply to vesna.kralj@sezana.si: Re: Izjava o pristopu"):
                break
        else:
            raise AssertionError("no reply seen:\n" + "".join(seen))
        with IMAPClient(imap[0], int(imap[1]), ssl=False, timeout=10) as client:
            client.login(imap[2], imap[3])
            assert client.select_folder("INBOX")[b"EXISTS"] == before + 1
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=15)
        except subprocess.TimeoutExpired:
            demo.kill()
            raise
