"""Storage: the migrated schema matches the models, and its constraints hold on both databases."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage.db import make_engine, session_factory, upgrade
from storage.models import Base, Member, Message, RawMessage


def _message(uid: int, **overrides: object) -> Message:
    values: dict[str, object] = {
        "mailbox": "INBOX", "uidvalidity": 7, "uid": uid, "message_id": f"<{uid}@x.si>",
        "sender": "ana@kranj.si", "received_at": datetime(2021, 2, 3, 9, 12, tzinfo=UTC),
        "size": 10,
    }
    values.update(overrides)
    return Message(**values)


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as connection, warnings.catch_warnings():
        # SQLite's reflection cannot read the lower(email) index; the constraint test below
        # proves it is there.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    if engine.dialect.name == "sqlite":
        differences = [d for d in differences
                       if not (d[0] == "add_index" and d[1].name == "uq_members_email_lower")]
    assert differences == []
    engine.dispose()


def test_same_uid_twice_is_refused(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        session.add(_message(101))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(_message(101, message_id="<other@x.si>"))
    # Another UIDVALIDITY is another mailbox generation: the same UID is a new message.
    with sessions.begin() as session:
        session.add(_message(101, uidvalidity=8))
    with sessions() as session:
        assert len(session.scalars(select(Message)).all()) == 2
    engine.dispose()


def test_member_email_is_unique_whatever_its_case(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        session.add(Member(email="ana.novak@kranj.si", full_name="Ana Novak"))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(Member(email="Ana.Novak@Kranj.SI", full_name="Ana Novak"))
    with sessions() as session:
        assert session.scalars(select(Member.email)).all() == ["ana.novak@kranj.si"]
    engine.dispose()


def test_times_come_back_aware_and_equal(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    local = datetime(2021, 2, 9, 23, 59, 59, tzinfo=timezone(timedelta(hours=1)))
    with sessions.begin() as session:
        session.add(RawMessage(sha256="a" * 64, size=3, data=b"abc"))
        session.add(_message(5, received_at=local, sha256="a" * 64))
    with sessions() as session:
        stored = session.scalars(select(Message)).one()
        assert stored.received_at == local
        assert stored.received_at.tzinfo is not None
    engine.dispose()
