"""Engines, sessions and the schema's migrations.

The database is brought up to date by `upgrade()` every time a command opens it, so an
operator never runs a migration by hand; `intake db upgrade` does the same explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


class DatabaseUrlError(ValueError):
    """The URL is not one SQLAlchemy can use (the CLI turns this into a one-line error)."""


def make_engine(url: str, **options: Any) -> Engine:
    """An engine with the settings intake relies on.

    SQLite: WAL so that readers (the CLI) never block the worker, foreign keys on (off by
    default in SQLite), and a busy timeout so two processes wait for each other instead of
    failing with "database is locked".
    """
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                folder = Path(parsed.database).expanduser().parent
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as error:
                    raise DatabaseUrlError(
                        f"cannot create the folder {folder}: {error.strerror or error}"
                    ) from None
            engine = create_engine(parsed, connect_args={"timeout": 30}, **options)
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin_immediate)
        else:
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            engine = create_engine(parsed, pool_pre_ping=True, **options)
    except DatabaseUrlError:
        raise
    except (ArgumentError, NoSuchModuleError, ValueError) as error:
        raise DatabaseUrlError(f"cannot use database url {url!r}: {error}") from None
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling would defeat BEGIN IMMEDIATE below.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Erasing a person (intake members remove) must not leave their data in freed pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # Take the write lock at BEGIN: two writers that both read first and then write would
    # otherwise deadlock into "database is locked" instead of queueing.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest revision; returns it."""
    config = alembic_config(engine)
    command.upgrade(config, "head")
    head = ScriptDirectory.from_config(config).get_current_head()
    return head or ""


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
