"""The tables: what was received, what became of it, who is a member, what we sent.

Statuses and reason codes are stored as the plain strings of spec/interface.md; this package
imports nothing of ours, so the enum that names them lives in intake.decide.
Schema changes go through Alembic (storage/migrations); `tests/test_storage.py` checks that the
migrations and these models agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime, dict[str, Any]: JSON, list[str]: JSON,
    }


class MailboxState(Base):
    """Where polling stopped: the last UID committed under the folder's UIDVALIDITY."""

    __tablename__ = "mailbox_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(300), unique=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RawMessage(Base):
    """The bytes as received, content-addressed, so nothing received is ever lost."""

    __tablename__ = "raw_messages"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Message(Base):
    """One message received: from the mailbox (mailbox, uidvalidity, uid) or a file."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_messages_uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(300))  # folder name, or "file" for ingest
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    sender: Mapped[str] = mapped_column(String(320), default="", index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(ForeignKey("raw_messages.sha256"), index=True)
    # "received" until decided, then a status of spec/interface.md.
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    reasons: Mapped[list[str]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(index=True)
    moved_to: Mapped[str | None] = mapped_column(String(300))

    raw: Mapped[RawMessage | None] = relationship()
    declarations: Mapped[list[Declaration]] = relationship(
        back_populates="message", order_by="Declaration.position", cascade="all, delete-orphan"
    )


class Declaration(Base):
    """One declaration found in a message (or the single placeholder for none found)."""

    __tablename__ = "declarations"
    __table_args__ = (UniqueConstraint("message_pk", "position", name="uq_declarations_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(300), default="")
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    problems: Mapped[list[str]] = mapped_column(default=list)
    detail: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), index=True)
    reasons: Mapped[list[str]] = mapped_column(default=list)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(Text)

    message: Mapped[Message] = relationship(back_populates="declarations")


class Member(Base):
    """One member per e-mail address, whatever its case: the database enforces it."""

    __tablename__ = "members"
    __table_args__ = (Index("uq_members_email_lower", func.lower(text("email")), unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    full_name: Mapped[str] = mapped_column(String(300), default="")
    organization: Mapped[str] = mapped_column(String(500), default="")
    municipality: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(40), default="")
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The declaration that made or last updated the member. No foreign key: declarations
    # already point at members, and a cycle of constraints buys nothing here.
    declaration_id: Mapped[int | None]
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reply(Base):
    """The reply outbox: composed and stored (with our Message-ID) before any SMTP attempt.

    `kind` is "auto" for the answer to a received message and "review:<declaration id>" for
    the answer to a coordinator's decision; (message, kind) is unique, which is what makes
    "answered at most once" a database constraint rather than a hope.
    """

    __tablename__ = "replies"
    __table_args__ = (
        UniqueConstraint("message_pk", "kind", name="uq_replies_message_kind"),
        Index("ix_replies_state_next", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40), default="auto")  # auto | review:<decl id>
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(Text)
    our_message_id: Mapped[str] = mapped_column(String(300), unique=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    # pending -> sending -> sent | failed; `sending` is written before the SMTP DATA so that
    # a crash in between is recognised (RFC 1047) and the resend carries the same Message-ID.
    state: Mapped[str] = mapped_column(String(20), default="pending")
    claimed_by: Mapped[str | None] = mapped_column(String(200))  # host:pid while sending
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class DigestSent(Base):
    """One digest per day of the campaign's zone: `sending` is written before SMTP, `sent`
    after, so a crash in between is recognised and the day is sent again, not skipped."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[str] = mapped_column(String(10), unique=True)  # YYYY-MM-DD, campaign zone
    state: Mapped[str] = mapped_column(String(20), default="sending")
    message_id: Mapped[str] = mapped_column(String(300), default="")
    sent_at: Mapped[datetime | None]
    recipients: Mapped[list[str]] = mapped_column(default=list)


class AuditEntry(Base):
    """What was done, without personal data (erasures must leave no address behind)."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(50))
    detail: Mapped[str] = mapped_column(Text, default="")
