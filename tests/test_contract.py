"""The command line against spec/interface.md, through the real `intake` command.

Each test here pins a promise of the interface that scripts rely on: every command fails
with one line and a non-zero exit on a bad configuration or a bad argument, and what
config.example.toml says about a key is what intake does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from intake.decide import Status
from intake.samples import sample_mailbox

ROOT = Path(__file__).resolve().parents[1]

RECEIVED = (b"Received: from mail.kranj.si by mx.skupnostobcin.si; "
            b"Wed, 3 Feb 2021 10:12:00 +0100\r\n")


def run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    """The real command; `env` replaces INTAKE_CONFIG (unset unless given)."""
    environment = {k: v for k, v in os.environ.items() if k != "INTAKE_CONFIG"}
    return subprocess.run([sys.executable, "-m", "intake", *args], capture_output=True,
                          text=True, timeout=180, cwd=cwd, env={**environment, **(env or {})})


def database_config(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/intake.db"\n')
    return config


def broken_config(tmp_path: Path) -> Path:
    config = tmp_path / "broken.toml"
    config.write_text('[smtp]\nport = "abc"\n')
    return config


def sample_file(tmp_path: Path, name: str, *, received: bool) -> Path:
    raw = next(s for s in sample_mailbox() if s.name == name).raw
    path = tmp_path / f"{name}.eml"
    path.write_bytes((RECEIVED if received else b"") + raw)
    return path


def assert_one_line_error(done: subprocess.CompletedProcess[str], start: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(f"intake: {start}"), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr


def test_the_status_filter_takes_only_the_statuses_of_the_interface(tmp_path: Path) -> None:
    """GIVEN a database with an accepted declaration
    WHEN `submissions --status` is given a reason code (`closed`) instead of a status
    THEN it is a bad argument: one line naming the statuses, exit 2 (not an empty list)."""
    config = database_config(tmp_path)
    path = sample_file(tmp_path, "accepted-docx", received=True)
    assert run("-c", str(config), "ingest", str(path)).returncode == 0

    done = run("-c", str(config), "submissions", "--status", "closed")
    assert_one_line_error(done, "submissions --status: expected one of ignored | rejected | "
                                "incomplete | needs_review | accepted, got 'closed'")
    assert done.stdout == ""
    accepted = run("-c", str(config), "submissions", "--json", "--status", "accepted")
    assert accepted.returncode == 0
    assert len(accepted.stdout.splitlines()) == 1


def test_the_filter_knows_every_status() -> None:
    from intake.cli import STATUSES  # here, so that the other tests run on an older cli

    assert sorted(STATUSES) == sorted(str(status) for status in Status)


def test_forms_fails_on_a_bad_config(tmp_path: Path) -> None:
    """GIVEN a configuration file with a mistake
    WHEN `intake -c FILE forms -o DIR` runs
    THEN it fails like every other command: one line naming the key, exit 2, no files."""
    broken = broken_config(tmp_path)
    done = run("-c", str(broken), "forms", "-o", str(tmp_path / "forms"))
    assert_one_line_error(done, f'{broken}: [smtp] port: expected an integer, got "abc"')
    assert not (tmp_path / "forms").exists()


def test_demo_fails_on_a_bad_config(tmp_path: Path) -> None:
    """GIVEN a configuration file with a mistake
    WHEN `intake -c FILE demo` runs
    THEN it fails with one line and exit 2 before starting anything."""
    broken = broken_config(tmp_path)
    done = run("-c", str(broken), "demo", "--dir", str(tmp_path / "demo"))
    assert_one_line_error(done, f'{broken}: [smtp] port: expected an integer, got "abc"')
    assert not (tmp_path / "demo").exists()


def test_parse_fails_when_INTAKE_CONFIG_names_a_missing_file(tmp_path: Path) -> None:
    """GIVEN $INTAKE_CONFIG naming a file that does not exist
    WHEN `intake parse` runs (a command that works without any configuration)
    THEN the named file is still required: one line, exit 2, as with -c."""
    document = tmp_path / "note.txt"
    document.write_text("nothing to see")
    missing = tmp_path / "nope.toml"
    done = run("parse", str(document), cwd=tmp_path, env={"INTAKE_CONFIG": str(missing)})
    assert_one_line_error(done, f"{missing}: no such configuration file")
    assert run("parse", str(document), cwd=tmp_path).returncode == 0  # no config at all: fine


def test_ingest_without_a_received_time_exits_non_zero(tmp_path: Path) -> None:
    """GIVEN one saved message with a Received: header and one without
    WHEN both are ingested without --received-at
    THEN the first is processed, the second is left out, and the exit code says so (2)
    with one line on stderr."""
    config = database_config(tmp_path)
    dated = sample_file(tmp_path, "accepted-docx", received=True)
    undated = sample_file(tmp_path, "accepted-body", received=False)

    done = run("-c", str(config), "ingest", str(dated), str(undated))
    assert done.stdout.splitlines()[:2] == [
        f"{dated}: accepted", f"{undated}: no Received: header; give --received-at"]
    assert_one_line_error(done, "1 of 2 files not ingested: no Received: header; "
                                "give --received-at")
    listed = run("-c", str(config), "submissions", "--json")
    assert len(listed.stdout.splitlines()) == 1


def test_review_list_refuses_an_id(tmp_path: Path) -> None:
    """GIVEN any database
    WHEN `review list 5` is given an id it would ignore
    THEN it is a bad argument: one line, exit 2."""
    config = database_config(tmp_path)
    done = run("-c", str(config), "review", "list", "5")
    assert_one_line_error(done, "review list: takes no id")


def test_review_list_shows_what_applicants_wrote_without_terminal_controls(
    tmp_path: Path,
) -> None:
    """GIVEN a declaration waiting for review whose name holds an escape sequence and whose
    organisation holds a line break
    WHEN `review list` prints it on the coordinator's terminal
    THEN the escape and the break are gone: one line per submission, nothing executed."""
    config = database_config(tmp_path)
    body = ("Izjava o pristopu k mreži komunikatorjev\n"
            "Ime in priimek: Eva\x1b[2J\x1b[31mKos\n"
            "Delovno mesto / funkcija: svetovalka\n"
            "E-naslov: eva.kos@atlantida.si\n"
            "Vrsta organizacije: občina\n"
            "Naziv organizacije: Občina Atlantida\n"
            "Vloga pri stikih z javnostmi: strokovna sodelavka za stike z javnostmi v občini\n"
            "Soglasje: [x] soglašam\n")
    path = tmp_path / "review.eml"
    path.write_bytes(RECEIVED + b"From: Eva <eva.kos@atlantida.si>\r\n"
                     b"Subject: Izjava o pristopu\r\nMIME-Version: 1.0\r\n"
                     b"Content-Type: text/plain; charset=utf-8\r\n"
                     b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body.encode())
    assert run("-c", str(config), "ingest", str(path)).returncode == 0
    listed = run("-c", str(config), "review", "list")
    assert listed.returncode == 0, listed.stderr
    assert "\x1b" not in listed.stdout
    rows = listed.stdout.splitlines()
    assert len(rows) == 2 and "Eva\ufffd[2J\ufffd[31mKos" in rows[1]


def test_a_reader_that_goes_away_gets_no_traceback(tmp_path: Path) -> None:
    """GIVEN a database with submissions
    WHEN `submissions --json` writes into a pipe whose reader has gone (`... | head -0`)
    THEN intake stops quietly with 141, the shell's code for SIGPIPE: no traceback."""
    config = database_config(tmp_path)
    path = sample_file(tmp_path, "accepted-docx", received=True)
    assert run("-c", str(config), "ingest", str(path)).returncode == 0

    with subprocess.Popen([sys.executable, "-m", "intake", "-c", str(config), "submissions",
                           "--json"], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # before the interpreter has even started writing
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=120) == 141, stderr
    assert stderr == ""


def test_a_relative_sqlite_path_is_where_config_example_says(tmp_path: Path) -> None:
    """GIVEN a configuration in one directory with `url = "sqlite:///intake.db"`
    WHEN a command runs from another directory
    THEN the database is made in the directory intake runs in, which is what
    config.example.toml says (it used to say "next to the config")."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "work").mkdir()
    config = tmp_path / "etc" / "config.toml"
    config.write_text('[database]\nurl = "sqlite:///intake.db"\n')
    assert run("-c", str(config), "db", "upgrade", cwd=tmp_path / "work").returncode == 0
    assert (tmp_path / "work" / "intake.db").exists()
    assert not (tmp_path / "etc" / "intake.db").exists()

    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    database = example.split("[database]", 1)[1].split("\n[", 1)[0]
    assert "next to the config" not in database
    assert "directory intake runs in" in database
