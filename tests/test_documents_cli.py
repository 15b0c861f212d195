"""`intake parse` and `intake ingest` as a script uses them, and hostile files through the
real sandbox: each becomes unreadable_attachment within the time limit while the test
process's memory stays put."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from intake.embedded import MailSink
from intake.samples import fill_docx, fill_pdf, sample_mailbox
from intake.sandbox import Sandbox, SandboxLimits
from tests.corpus.build import build_corpus
from tests.harness import ROOT, intake, submissions

ANA = {"full_name": "Ana Novak", "job_title": "svetovalka", "email": "ana.novak@kranj.si",
       "organization_type": "obcina", "organization": "Mestna občina Kranj",
       "role": "pr_staff", "consent": True}
HOSTILE = ("docx_zip_bomb", "pdf_nested_self_reference", "pdf_oversized_30mb",
           "pdf_truncated", "docx_really_png", "docx_truncated_zip", "pdf_encrypted",
           "doc_legacy_word97", "pdf_image_only_scan")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "intake", *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def test_parse_json_prints_one_object_per_file(tmp_path: Path) -> None:
    (tmp_path / "a.docx").write_bytes(fill_docx(ANA))
    (tmp_path / "b.pdf").write_bytes(fill_pdf(ANA))
    (tmp_path / "c.pdf").write_bytes(b"%PDF-1.7\nnot really")
    eml = tmp_path / "d.eml"
    eml.write_bytes(next(s for s in sample_mailbox() if s.name == "three-declarations").raw)
    done = run("parse", "--json", *(str(tmp_path / n) for n in ("a.docx", "b.pdf", "c.pdf",
                                                               "d.eml", "missing.pdf")))
    assert done.returncode == 2  # one file could not be read
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["file"].rsplit("/", 1)[1] for line in lines] == [
        "a.docx", "b.pdf", "c.pdf", "d.eml", "missing.pdf"]
    for line in lines[:2]:
        [declaration] = line["declarations"]
        assert declaration["problems"] == []
        assert {k: declaration["fields"][k] for k in ANA} == ANA
        assert line["error"] is None
    assert lines[2]["declarations"][0]["problems"] == ["unreadable_attachment"]
    assert [d["fields"]["full_name"] for d in lines[3]["declarations"]] == [
        "Eva Breznik", "Rok Petek", "Sara Vidmar"]
    assert lines[4]["declarations"] == [] and lines[4]["error"].startswith("cannot read")


def test_parse_prints_a_readable_table(tmp_path: Path) -> None:
    (tmp_path / "a.docx").write_bytes(fill_docx(ANA))
    done = run("parse", str(tmp_path / "a.docx"))
    assert done.returncode == 0
    assert "full_name          Ana Novak" in done.stdout
    assert "consent            yes" in done.stdout


def test_ingest_takes_the_received_time_from_the_newest_received_header(
    tmp_path: Path, mail_sink: MailSink,
) -> None:
    """GIVEN a saved message with Received headers (the newest after the deadline) and one
    without
    WHEN both are ingested, the second with --received-at, and then the first again
    THEN the first is late by its newest Received time, the second on time, the repeat is
    recognised, and both applicants are answered once."""
    sample = next(s for s in sample_mailbox() if s.name == "accepted-docx")
    headers = (b"Received: from mx2 by mx.skupnostobcin.si; Wed, 10 Feb 2021 08:00:00 +0100\r\n"
               b"Received: from mail.kranj.si by mx2; Tue, 9 Feb 2021 23:00:00 +0100\r\n")
    (tmp_path / "late.eml").write_bytes(headers + sample.raw)
    other = next(s for s in sample_mailbox() if s.name == "accepted-body")
    (tmp_path / "plain.eml").write_bytes(other.raw)
    config = tmp_path / "config.toml"
    config.write_text(f'[smtp]\nhost = "{mail_sink.host}"\nport = {mail_sink.port}\n'
                      f'security = "none"\n[database]\nurl = "sqlite:///{tmp_path}/x.db"\n')

    missing = intake(config, "ingest", str(tmp_path / "plain.eml"), check=False)
    assert missing.stdout.startswith(f"{tmp_path / 'plain.eml'}: no Received: header; "
                                     "give --received-at")
    done = intake(config, "ingest", str(tmp_path / "late.eml"))
    assert done.stdout.splitlines()[0] == f"{tmp_path / 'late.eml'}: needs_review (late)"
    done = intake(config, "ingest", "--received-at", "2021-02-03T10:00:00",
                  str(tmp_path / "plain.eml"), str(tmp_path / "late.eml"))
    assert done.stdout.splitlines()[:2] == [f"{tmp_path / 'plain.eml'}: accepted",
                                            f"{tmp_path / 'late.eml'}: already received"]
    rows = submissions(config)
    assert [(r["sender"], r["received_at"]) for r in rows] == [
        ("ana.novak@kranj.si", "2021-02-10T08:00:00+01:00"),
        ("zupan@kostel.si", "2021-02-03T10:00:00+01:00")]
    assert sorted(r for e in mail_sink.wait_for(2) for r in e.rcpt_tos) == [
        "ana.novak@kranj.si", "zupan@kostel.si"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    fixtures = build_corpus(tmp_path_factory.mktemp("corpus"), libreoffice=False)
    return {f.name: f.path for f in fixtures if f.name in HOSTILE}


def test_hostile_files_are_unreadable_within_the_limits(hostile: dict[str, Path]) -> None:
    assert sorted(hostile) == sorted(HOSTILE)
    limits = SandboxLimits(timeout_s=10, memory_bytes=512 * 2**20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with Sandbox(limits) as sandbox:
        for name, path in hostile.items():
            started = time.monotonic()
            [declaration] = sandbox.parse(path.read_bytes(), path.name)
            assert declaration.problems == ("unreadable_attachment",), name
            assert declaration.detail, name
            assert time.monotonic() - started < limits.timeout_s + 2, name
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB
    # The test process only held each file's bytes (the largest is 30 MB), never what
    # parsing them would inflate to.
    assert grown < 120 * 1024
