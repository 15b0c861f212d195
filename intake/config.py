"""Settings from a TOML file into typed, frozen values.

Every key is checked here, once, so that a mistake is one line naming the file, the key and the
problem (`config.toml: [smtp] port: expected an integer, got "abc"`) instead of a traceback
later. Unknown keys are errors too: a misspelt key silently falling back to a default is the
kind of bug an operator never finds. Secrets are read from the environment only when a
connection needs them, so commands that do not connect do not need them set.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from intake.errors import ConfigError

Security = Literal["ssl", "starttls", "none"]
LatePolicy = Literal["accept", "review", "reject"]


@dataclass(frozen=True)
class Secret:
    """A password given inline or as the name of an environment variable."""

    section: str
    inline: str | None = None
    env: str | None = None

    def resolve(self) -> str:
        if self.env:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigError(
                    f"[{self.section}] password_env: environment variable {self.env} is not set"
                )
            return value
        return self.inline or ""


@dataclass(frozen=True)
class MailboxSettings:
    host: str = ""
    port: int = 993
    security: Security = "ssl"
    username: str = ""
    password: Secret = Secret("mailbox")
    folder: str = "INBOX"
    timeout: float = 60.0
    batch_size: int = 50
    # Move processed applications here after they are committed; "" leaves them in place.
    # Mail that is not an application is never moved.
    processed_folder: str = ""
    ca_file: Path | None = None  # a private CA to trust besides the system's


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""
    port: int = 465
    security: Security = "ssl"
    username: str = ""
    password: Secret = Secret("smtp")
    from_address: str = "metka.lasic@skupnostobcin.si"
    from_name: str = "Skupnost občin Slovenije"
    timeout: float = 60.0
    # At most this many automatic replies to one address per day, so that two auto-responders
    # cannot keep each other busy.
    max_replies_per_address_per_day: int = 3
    ca_file: Path | None = None  # a private CA to trust besides the system's


@dataclass(frozen=True)
class CampaignSettings:
    opens: datetime
    deadline: datetime
    closes: datetime
    timezone: ZoneInfo
    late_policy: LatePolicy = "review"


@dataclass(frozen=True)
class LimitSettings:
    # Messages larger than this are recorded without downloading the body.
    max_message_bytes: int = 40 * 2**20
    max_attachment_bytes: int = 25 * 2**20
    parse_timeout: float = 20.0
    parse_memory_bytes: int = 512 * 2**20


@dataclass(frozen=True)
class DigestSettings:
    to: tuple[str, ...] = ("metka.lasic@skupnostobcin.si",)
    at: time = time(8, 0)
    skip_empty: bool = False


@dataclass(frozen=True)
class Settings:
    source: str  # the file the settings came from, for messages
    mailbox: MailboxSettings
    smtp: SmtpSettings
    database_url: str
    campaign: CampaignSettings
    poll_every: timedelta
    digest: DigestSettings
    limits: LimitSettings = field(default_factory=LimitSettings)
    replies_templates: Path | None = None  # the operator's copy of templates/replies.toml


DEFAULT_DATABASE_URL = "sqlite:///intake.db"
_TZ = "Europe/Ljubljana"
_DEFAULT_CAMPAIGN = {
    "opens": "2021-01-29T16:00:00",
    "deadline": "2021-02-09T23:59:59",
    "closes": "2021-02-16T16:00:00",
}

_KNOWN: Mapping[str, frozenset[str]] = {
    "mailbox": frozenset(
        {"host", "port", "security", "username", "password", "password_env", "folder",
         "timeout", "batch_size", "processed_folder", "ca_file"}
    ),
    "smtp": frozenset(
        {"host", "port", "security", "username", "password", "password_env", "from_address",
         "from_name", "timeout", "max_replies_per_address_per_day", "ca_file"}
    ),
    "database": frozenset({"url"}),
    "campaign": frozenset({"opens", "deadline", "closes", "timezone", "late_policy"}),
    "schedule": frozenset({"poll_every"}),
    "digest": frozenset({"to", "at", "skip_empty"}),
    "replies": frozenset({"templates"}),
    "limits": frozenset(
        {"max_message_bytes", "max_attachment_bytes", "parse_timeout", "parse_memory_bytes"}
    ),
}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


class _Section:
    """One table of the file, read key by key with the error prefix already known."""

    def __init__(self, source: str, name: str, values: Mapping[str, Any]) -> None:
        self.source = source
        self.name = name
        self.values = values

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: [{self.name}] {key}: {problem}")

    def _get(self, key: str, kind: type | tuple[type, ...], expected: str, default: Any) -> Any:
        if key not in self.values:
            return default
        value = self.values[key]
        # bool is an int in Python; a port of `true` is a mistake, not 1.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.error(key, f"expected {expected}, got {_show(value)}")
        return value

    def text(self, key: str, default: str = "") -> str:
        return cast(str, self._get(key, str, "a string", default))

    def file(self, key: str, base: Path | None) -> Path | None:
        """An existing file, relative to the configuration's folder; None when unset."""
        name = self.text(key)
        if not name:
            return None
        path = (base or Path.cwd()) / Path(name).expanduser()
        if not path.is_file():
            raise self.error(key, f"no such file: {path}")
        return path

    def integer(self, key: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
        value = cast(int, self._get(key, int, "an integer", default))
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and {maximum}" if maximum is not None else ""
            raise self.error(key, f"expected a number between {minimum}{upper}, got {value}")
        return value

    def number(self, key: str, default: float) -> float:
        value = float(cast(float, self._get(key, (int, float), "a number", default)))
        if value <= 0:
            raise self.error(key, f"expected a positive number, got {value}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        return cast(bool, self._get(key, bool, "true or false", default))

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise self.error(key, f"expected one of {' | '.join(choices)}, got {_show(value)}")
        return value

    def secret(self) -> Secret:
        inline = self.text("password") or None
        env = self.text("password_env") or None
        if inline and env:
            raise self.error("password", "give either password or password_env, not both")
        return Secret(self.name, inline, env)

    def duration(self, key: str, default: str) -> timedelta:
        raw = self.text(key, default)
        match = _DURATION.match(raw)
        if not match or float(match[1]) <= 0:
            raise self.error(key, f'expected a duration such as "30s", "5m" or "1h", got "{raw}"')
        return timedelta(seconds=float(match[1]) * _UNITS[match[2]])

    def clock_time(self, key: str, default: str) -> time:
        raw = self.text(key, default)
        try:
            return time.fromisoformat(raw)
        except ValueError:
            raise self.error(key, f'expected a time of day such as "08:00", got "{raw}"') from None

    def local_datetime(self, key: str, default: str, zone: ZoneInfo) -> datetime:
        value = self.values.get(key, default)
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise self.error(
                    key, f'expected a date and time such as "2021-02-09T23:59:59", got "{value}"'
                ) from None
        else:
            raise self.error(key, f"expected a date and time, got {_show(value)}")
        # A time without an offset is wall-clock time in the campaign's zone.
        return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed.astimezone(zone)

    def addresses(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.values.get(key, list(default))
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"expected a list of e-mail addresses, got {_show(value)}")
        for address in value:
            if "@" not in address or address.strip() != address:
                raise self.error(key, f'"{address}" is not an e-mail address')
        return tuple(value)


def _show(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


def parse_settings(text: str, source: str = "config.toml", base: Path | None = None) -> Settings:
    """Settings from TOML text; every problem is a ConfigError naming the key."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}") from None

    for name, value in document.items():
        if name not in _KNOWN:
            raise ConfigError(f"{source}: unknown section [{name}]")
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {name}: expected a [{name}] table")
        for key in value:
            if key not in _KNOWN[name]:
                raise ConfigError(f"{source}: [{name}] {key}: unknown key")

    def section(name: str) -> _Section:
        return _Section(source, name, document.get(name, {}))

    mailbox, smtp, database = section("mailbox"), section("smtp"), section("database")
    campaign, schedule, digest, limits = (
        section("campaign"), section("schedule"), section("digest"), section("limits")
    )
    templates = section("replies").text("templates")
    templates_path = (base or Path.cwd()) / templates if templates else None

    zone_name = campaign.text("timezone", _TZ)
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise campaign.error("timezone", f'unknown time zone "{zone_name}"') from None
    opens, deadline, closes = (
        campaign.local_datetime(key, _DEFAULT_CAMPAIGN[key], zone)
        for key in ("opens", "deadline", "closes")
    )
    if not opens < deadline <= closes:
        raise campaign.error("deadline", "expected opens < deadline <= closes")

    return Settings(
        source=source,
        mailbox=MailboxSettings(
            host=mailbox.text("host"),
            port=mailbox.integer("port", 993, 1, 65535),
            security=cast(Security, mailbox.choice("security", ("ssl", "starttls", "none"), "ssl")),
            username=mailbox.text("username"),
            password=mailbox.secret(),
            folder=mailbox.text("folder", "INBOX") or "INBOX",
            timeout=mailbox.number("timeout", 60.0),
            batch_size=mailbox.integer("batch_size", 50, 1, 10_000),
            processed_folder=mailbox.text("processed_folder"),
            ca_file=mailbox.file("ca_file", base),
        ),
        smtp=SmtpSettings(
            host=smtp.text("host"),
            port=smtp.integer("port", 465, 1, 65535),
            security=cast(Security, smtp.choice("security", ("ssl", "starttls", "none"), "ssl")),
            username=smtp.text("username"),
            password=smtp.secret(),
            from_address=smtp.addresses("from_address", (SmtpSettings.from_address,))[0],
            from_name=smtp.text("from_name", SmtpSettings.from_name),
            timeout=smtp.number("timeout", 60.0),
            max_replies_per_address_per_day=smtp.integer(
                "max_replies_per_address_per_day", 3, 1
            ),
            ca_file=smtp.file("ca_file", base),
        ),
        database_url=database.text("url", DEFAULT_DATABASE_URL) or DEFAULT_DATABASE_URL,
        campaign=CampaignSettings(
            opens=opens,
            deadline=deadline,
            closes=closes,
            timezone=zone,
            late_policy=cast(
                LatePolicy, campaign.choice("late_policy", ("accept", "review", "reject"), "review")
            ),
        ),
        poll_every=schedule.duration("poll_every", "5m"),
        digest=DigestSettings(
            to=digest.addresses("to", DigestSettings.to),
            at=digest.clock_time("at", "08:00"),
            skip_empty=digest.boolean("skip_empty", False),
        ),
        replies_templates=templates_path,
        limits=LimitSettings(
            max_message_bytes=limits.integer(
                "max_message_bytes", LimitSettings.max_message_bytes, 1
            ),
            max_attachment_bytes=limits.integer(
                "max_attachment_bytes", LimitSettings.max_attachment_bytes, 1
            ),
            parse_timeout=limits.number("parse_timeout", LimitSettings.parse_timeout),
            parse_memory_bytes=limits.integer(
                "parse_memory_bytes", LimitSettings.parse_memory_bytes, 64 * 2**20
            ),
        ),
    )


def default_settings() -> Settings:
    """The SOS 2021 call with an embedded SQLite database: what an empty file gives."""
    return parse_settings("", "(defaults)")


def load_settings(path: Path) -> Settings:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read: {error}") from None
    return parse_settings(text, str(path), path.parent)


def require(settings: Settings, section: Literal["mailbox", "smtp"]) -> None:
    """Fail early, naming the key, when a command needs a server that is not configured."""
    values = settings.mailbox if section == "mailbox" else settings.smtp
    if not values.host:
        raise ConfigError(f"{settings.source}: [{section}] host: required, but not set")
