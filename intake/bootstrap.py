"""Turning settings into adapters: the database, the mailbox, the mail sender.

The CLI (and `intake demo`, and the tests) call these; nothing else builds an engine or a
connection, so every way of failing to reach a server is mapped to one IntakeError here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from intake.config import Settings
from intake.errors import ConfigError, ServerUnreachable
from storage.db import DatabaseUrlError, make_engine, session_factory, upgrade


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    revision: str


def open_database(settings: Settings) -> Database:
    """An engine on `database.url`, with the schema brought up to date."""
    try:
        engine = make_engine(settings.database_url)
    except DatabaseUrlError as error:
        raise ConfigError(f"{settings.source}: [database] url: {error}") from None
    try:
        revision = upgrade(engine)
    except (OperationalError, DBAPIError) as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise ServerUnreachable(
            f"database {engine.url.render_as_string(hide_password=True)}: {reason}"
        ) from None
    return Database(engine, session_factory(engine), revision)
