"""Turning settings into adapters: the database, the mailbox, the mail sender.

The CLI (and `intake demo`, and the tests) call these; nothing else builds an engine or a
connection, so every way of failing to reach a server is mapped to one IntakeError here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from intake.config import Settings, require
from intake.cycle import Parse, Pipeline
from intake.decide import Campaign
from intake.errors import ConfigError, ServerUnreachable
from intake.forms import DOCX_NAME, PDF_NAME, blank_docx, blank_pdf
from intake.mailbox import Mailbox
from intake.municipalities import load_municipalities
from intake.outbox import SmtpConnection
from intake.replies import Sender, TemplateError, call_dates, load_templates
from intake.sandbox import Sandbox, SandboxLimits
from storage.db import DatabaseUrlError, make_engine, session_factory, upgrade


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    revision: str


def open_database(settings: Settings, *, migrate: bool = True) -> Database:
    """An engine on `database.url`, with the schema brought up to date unless told not
    to (the worker takes its lock first, so that two starting workers never migrate at
    once)."""
    try:
        engine = make_engine(settings.database_url)
    except DatabaseUrlError as error:
        raise ConfigError(f"{settings.source}: [database] url: {error}") from None
    database = Database(engine, session_factory(engine), "")
    return migrate_database(database) if migrate else database


def migrate_database(database: Database) -> Database:
    engine = database.engine
    try:
        revision = upgrade(engine)
    except (OperationalError, DBAPIError) as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise ServerUnreachable(
            f"database {engine.url.render_as_string(hide_password=True)}: {reason}"
        ) from None
    return Database(engine, database.sessions, revision)


def our_domain(settings: Settings) -> str:
    """The right-hand side of our Message-IDs: a subdomain of ours that no colleague's mail
    client uses, so that mail carrying it is recognisably our own (and never answered)."""
    return "intake." + settings.smtp.from_address.rpartition("@")[2].lower()


def campaign_of(settings: Settings) -> Campaign:
    addresses = {settings.smtp.from_address.lower()}
    if "@" in settings.mailbox.username:
        addresses.add(settings.mailbox.username.lower())
    return Campaign(
        opens=settings.campaign.opens,
        deadline=settings.campaign.deadline,
        closes=settings.campaign.closes,
        late_policy=settings.campaign.late_policy,
        our_addresses=frozenset(addresses),
        our_domains=frozenset({our_domain(settings)}),
    )


def sandbox_for(settings: Settings) -> Sandbox:
    limits = settings.limits
    return Sandbox(SandboxLimits(
        timeout_s=limits.parse_timeout, memory_bytes=limits.parse_memory_bytes,
        max_bytes=limits.max_attachment_bytes,
    ))


def build_pipeline(settings: Settings, database: Database, parse: Parse,
                   now: Callable[[], datetime] | None = None) -> Pipeline:
    """The pipeline; `parse` is the sandbox's (or, for commands that read no attachment,
    anything)."""
    zone = settings.campaign.timezone
    try:
        templates = load_templates(settings.replies_templates)
    except TemplateError as error:
        raise ConfigError(f"{settings.source}: [replies] templates: {error}") from None
    return Pipeline(
        sessions=database.sessions,
        campaign=campaign_of(settings),
        municipalities=load_municipalities(),
        parse=parse,
        templates=templates,
        sender=Sender(settings.smtp.from_address, settings.smtp.from_name, our_domain(settings)),
        dates=call_dates(settings.campaign.deadline.astimezone(zone),
                         settings.campaign.closes.astimezone(zone)),
        blank_forms=(
            (DOCX_NAME, "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             blank_docx()),
            (PDF_NAME, "application/pdf", blank_pdf()),
        ),
        limits=settings.limits,
        max_replies_per_day=settings.smtp.max_replies_per_address_per_day,
        now=now or (lambda: datetime.now(UTC)),
    )


def mailbox_opener(settings: Settings, *, writable: bool = False) -> Callable[[], Mailbox]:
    require(settings, "mailbox")
    return lambda: Mailbox(settings.mailbox, writable=writable)


def smtp_connection(settings: Settings) -> SmtpConnection:
    require(settings, "smtp")
    return SmtpConnection(settings.smtp)
