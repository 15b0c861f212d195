"""Configuration: every key of interface.md read and typed; every mistake one clear line."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from intake.config import load_settings, parse_settings
from intake.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_example_config_is_complete_and_valid() -> None:
    settings = load_settings(ROOT / "config.example.toml")
    assert settings.mailbox.host == "imap.example.si"
    assert settings.mailbox.password.env == "INTAKE_IMAP_PASSWORD"
    assert settings.smtp.port == 465
    assert settings.database_url == "sqlite:///intake.db"
    assert settings.campaign.late_policy == "review"
    assert settings.poll_every == timedelta(minutes=5)
    assert settings.digest.at == time(8, 0)
    assert settings.digest.to == ("metka.lasic@skupnostobcin.si",)


def test_campaign_times_are_local_to_the_campaign_zone() -> None:
    settings = parse_settings("")
    # 23:59:59 in Ljubljana in winter (CET, UTC+1) is 22:59:59 UTC.
    assert settings.campaign.deadline.astimezone(UTC) == datetime(
        2021, 2, 9, 22, 59, 59, tzinfo=UTC
    )
    assert settings.campaign.opens.astimezone(UTC) == datetime(2021, 1, 29, 15, 0, tzinfo=UTC)
    assert settings.campaign.closes.astimezone(UTC) == datetime(2021, 2, 16, 15, 0, tzinfo=UTC)


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = parse_settings('[smtp]\npassword_env = "X_TEST_SECRET"\n')
    monkeypatch.setenv("X_TEST_SECRET", "s3cret")
    assert settings.smtp.password.resolve() == "s3cret"
    monkeypatch.delenv("X_TEST_SECRET")
    with pytest.raises(
        ConfigError,
        match=r"\[smtp\] password_env: environment variable "
        r"X_TEST_SECRET is not set",
    ):
        settings.smtp.password.resolve()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[smtp]\nport = "abc"\n', 'config.toml: [smtp] port: expected an integer, got "abc"'),
        (
            "[smtp]\nport = 70000\n",
            "config.toml: [smtp] port: expected a number between 1 and 65535, got 70000",
        ),
        (
            '[mailbox]\nsecurity = "tls"\n',
            'config.toml: [mailbox] security: expected one of ssl | starttls | none, got "tls"',
        ),
        ('[mailbox]\nhots = "x"\n', "config.toml: [mailbox] hots: unknown key"),
        ("[mailbx]\n", "config.toml: unknown section [mailbx]"),
        (
            '[schedule]\npoll_every = "often"\n',
            'config.toml: [schedule] poll_every: expected a duration such as "30s", "5m" or "1h", '
            'got "often"',
        ),
        (
            '[campaign]\ntimezone = "Europe/Ljublana"\n',
            'config.toml: [campaign] timezone: unknown time zone "Europe/Ljublana"',
        ),
        (
            '[campaign]\nlate_policy = "maybe"\n',
            "config.toml: [campaign] late_policy: expected one of accept | review | reject, "
            'got "maybe"',
        ),
        (
            '[campaign]\ndeadline = "9. 2. 2021"\n',
            "config.toml: [campaign] deadline: expected a date and time such as "
            '"2021-02-09T23:59:59", got "9. 2. 2021"',
        ),
        (
            '[campaign]\ndeadline = "2021-03-01T00:00:00"\n',
            "config.toml: [campaign] deadline: expected opens < deadline <= closes",
        ),
        (
            '[digest]\nat = "8am"\n',
            'config.toml: [digest] at: expected a time of day such as "08:00", got "8am"',
        ),
        (
            '[digest]\nto = ["nobody"]\n',
            'config.toml: [digest] to: "nobody" is not an e-mail address',
        ),
        (
            "[digest]\nskip_empty = 1\n",
            "config.toml: [digest] skip_empty: expected true or false, got 1",
        ),
        (
            '[smtp]\npassword = "a"\npassword_env = "B"\n',
            "config.toml: [smtp] password: give either password or password_env, not both",
        ),
        ("[smtp\n", "config.toml: not valid TOML: "),
    ],
)
def test_mistakes_are_one_line_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_settings(text)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_cli_reports_a_bad_config_in_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[smtp]\nport = "abc"\n')
    done = subprocess.run(
        [sys.executable, "-m", "intake", "-c", str(broken), "poll", "--once"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f'intake: {broken}: [smtp] port: expected an integer, got "abc"\n'


def test_cli_reports_a_missing_config(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "intake", "-c", str(tmp_path / "nope.toml"), "submissions"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert done.stderr == f"intake: {tmp_path / 'nope.toml'}: no such configuration file\n"


def test_help_lists_every_command_of_the_interface() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "intake", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0
    for command in (
        "run",
        "poll",
        "ingest",
        "parse",
        "submissions",
        "members",
        "review",
        "digest",
        "forms",
        "demo",
    ):
        assert f"    {command} " in done.stdout, command


def test_ca_files_are_relative_to_the_configuration_and_must_exist(tmp_path: Path) -> None:
    (tmp_path / "relay-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    settings = parse_settings('[smtp]\nca_file = "relay-ca.pem"\n', base=tmp_path)
    assert settings.smtp.ca_file == tmp_path / "relay-ca.pem"
    assert settings.mailbox.ca_file is None
    with pytest.raises(ConfigError) as error:
        parse_settings('[mailbox]\nca_file = "nope.pem"\n', base=tmp_path)
    assert str(error.value) == f"config.toml: [mailbox] ca_file: no such file: {tmp_path}/nope.pem"
