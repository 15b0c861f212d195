"""The README is true today: its commands exist, its examples run and print what it shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from intake.config import parse_settings
from tests.harness import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_in_the_readme_exists() -> None:
    listed = set(re.findall(r"^\| `intake (\w+)", README, re.MULTILINE))
    assert {"run", "poll", "ingest", "parse", "submissions", "members", "review", "digest",
            "forms", "demo", "db"} <= listed
    for command in listed:
        done = subprocess.run([sys.executable, "-m", "intake", command, "--help"],
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert done.returncode == 0, (command, done.stderr)


def test_the_broken_config_example_prints_what_the_readme_shows(tmp_path: Path) -> None:
    shown = re.search(r"\$ intake -c broken.toml poll --once\n\s+(intake: .+)\n", README)
    assert shown
    (tmp_path / "broken.toml").write_text('[smtp]\nport = "abc"\n')
    done = subprocess.run([sys.executable, "-m", "intake", "-c", "broken.toml", "poll", "--once"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert done.stderr.strip() == shown.group(1)


@pytest.mark.parametrize("block", re.findall(r"```toml\n(.*?)```", README, re.DOTALL))
def test_every_configuration_example_is_valid(block: str) -> None:
    parse_settings(block, "README")


def test_the_two_commands_are_make_targets() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.MULTILINE)
    assert re.search(r"^test:", makefile, re.MULTILINE)
    assert "make demo" in README and "make test" in README


def test_the_service_unit_runs_the_worker() -> None:
    unit = (ROOT / "deploy" / "intake.service").read_text()
    assert re.search(r"^ExecStart=\S+/intake run$", unit, re.MULTILINE)
