"""What the coordinator does with intake: the daily digest, review decisions, the member list.

The rendering is pure (intake.digest, intake.export); this module looks the data up, and
sends through the same SMTP settings as the replies. Each action that mails someone records
that it did so in the database first, so nothing is sent twice after a crash.
"""

from __future__ import annotations

import getpass
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email import policy
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from intake.cycle import Pipeline, queue_review_reply, upsert_member
from intake.decide import DeclarationDecision, Status
from intake.digest import DigestData, FailedReply, SubmissionRow, build_digest, is_empty
from intake.errors import UsageError
from intake.export import MemberRow
from intake.outbox import SmtpConnection
from intake.replies import one_line
from storage.models import AuditEntry, DigestSent, Member, Message, RawMessage, Reply
from storage.models import Declaration as DeclarationRow

log = logging.getLogger(__name__)

# After downtime, missed digests are sent for at most this many days back: a worker started
# long after the call must not flood the coordinator with a digest for every day since.
CATCH_UP_DAYS = 7


# --- members --------------------------------------------------------------------------------


def member_rows(session: Session) -> list[MemberRow]:
    members = session.scalars(select(Member).order_by(Member.joined_at, Member.id)).all()
    return [MemberRow.from_fields(m.id, {**m.fields, "email": m.email},
                                  joined_at=m.joined_at, updated_at=m.updated_at)
            for m in members]


def remove_member(session: Session, email: str) -> int:
    """Erase a person's personal data on request; returns how many records held it.

    The member row goes; the declarations and messages that carry the address keep their
    status and reasons (the call's statistics) but lose every personal field; the raw
    messages from or about them, and the replies to them, are deleted. The audit entry says
    that an erasure happened, not whose.

    A message may carry several people's declarations (a secretary sends the whole team's):
    its raw bytes and metadata go, but the colleagues' declarations keep their fields and
    their link to the member they made; only the person's own are emptied.
    """
    key = email.strip().lower()
    if not key:
        raise UsageError("members remove: give the e-mail address to erase")
    touched = 0
    member_ids = session.scalars(select(Member.id).where(func.lower(Member.email) == key)).all()
    declarations = session.scalars(select(DeclarationRow)).all()
    sent_by = set(session.scalars(select(Message.id).where(func.lower(Message.sender) == key)))
    message_pks = set(sent_by)
    theirs: list[DeclarationRow] = []
    for declaration in declarations:
        stored = str(declaration.fields.get("email", "")).strip().lower()
        # A declaration without an address in a message they sent is theirs too (the
        # sender is the only one it can be traced to).
        if (stored == key or declaration.member_id in member_ids
                or (not stored and declaration.message_pk in sent_by)):
            theirs.append(declaration)
            message_pks.add(declaration.message_pk)
    for declaration in theirs:
        declaration.fields, declaration.detail, declaration.source = {}, "", ""
        declaration.review_note = None  # the coordinator's words about them
        declaration.member_id = None
        touched += 1
    reply_pks = set(session.scalars(select(Reply.message_pk).where(Reply.recipient == key)))
    message_pks |= reply_pks
    hashes: set[str] = set()
    for message in session.scalars(select(Message).where(Message.id.in_(message_pks))):
        if message.sha256:
            hashes.add(message.sha256)
        message.sha256 = None
        message.sender, message.subject, message.message_id, message.error = "", "", None, None
        touched += 1
    session.flush()
    for digest in hashes:
        # The same bytes may be shared by no other message: content-addressed, but deleted
        # only when nothing else points at them.
        if session.scalar(select(func.count(Message.id)).where(Message.sha256 == digest)) == 0:
            session.execute(delete(RawMessage).where(RawMessage.sha256 == digest))
    touched += int(session.execute(
        delete(Reply).where(or_(Reply.recipient == key, Reply.message_pk.in_(message_pks)))
    ).rowcount)  # type: ignore[attr-defined]
    touched += int(session.execute(
        delete(Member).where(func.lower(Member.email) == key)
    ).rowcount)  # type: ignore[attr-defined]
    session.add(AuditEntry(action="member_erased",
                           detail=f"erased personal data from {touched} records"))
    return touched


# --- reviews --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewItem:
    id: int
    received_at: datetime
    sender: str
    full_name: str
    organization: str
    reasons: tuple[str, ...]


def open_reviews(session: Session) -> list[ReviewItem]:
    rows = session.execute(
        select(DeclarationRow, Message)
        .join(Message, DeclarationRow.message_pk == Message.id)
        .where(DeclarationRow.status == Status.NEEDS_REVIEW)
        .order_by(Message.received_at, DeclarationRow.id)
    ).all()
    return [ReviewItem(d.id, m.received_at, m.sender, str(d.fields.get("full_name", "")),
                       str(d.fields.get("organization", "")), tuple(d.reasons))
            for d, m in rows]


def decide_review(session: Session, pipeline: Pipeline, declaration_id: int, *,
                  approve: bool, reason: str = "", by: str | None = None) -> str:
    """Record the coordinator's decision and queue the applicant's final reply (once)."""
    declaration = session.scalars(
        select(DeclarationRow).where(DeclarationRow.id == declaration_id).with_for_update()
    ).first()
    if declaration is None:
        raise UsageError(f"review: no submission with id {declaration_id}")
    if declaration.status != Status.NEEDS_REVIEW:
        raise UsageError(f"review: submission {declaration_id} is {declaration.status}, "
                         "not waiting for review")
    if approve and not declaration.fields.get("email"):
        raise UsageError(f"review: submission {declaration_id} has no e-mail address to make "
                         "a member of; reject it or ask the applicant for a new declaration")
    now = pipeline.now()
    declaration.reviewed_by = (by or _who())[:200]
    declaration.reviewed_at = now
    fields = dict(declaration.fields)
    values = {"full_name": one_line(str(fields.get("full_name", ""))),
              "organization": one_line(str(fields.get("organization", "")))}
    if approve:
        declaration.status = str(Status.ACCEPTED)
        item = DeclarationDecision(Status.ACCEPTED, tuple(declaration.reasons), fields)
        declaration.member_id = upsert_member(session, item, now)
        text = pipeline.templates.fill("approved", **values)
    else:
        declaration.status = str(Status.REJECTED)
        declaration.review_note = reason
        why = pipeline.templates.fill("why_coordinator", reason=one_line(reason))
        text = pipeline.templates.fill("refused", why=why, **values)
    message = session.get_one(Message, declaration.message_pk)
    statuses = [d.status for d in message.declarations]
    message.status = min(statuses, key=_severity)
    queue_review_reply(session, pipeline, message, text, kind=f"review:{declaration.id}")
    session.add(AuditEntry(action="review_approved" if approve else "review_rejected",
                           detail=f"submission {declaration.id} by {declaration.reviewed_by}"))
    return str(declaration.status)


def _severity(status: str) -> int:
    order = ["ignored", "rejected", "incomplete", "needs_review", "accepted"]
    return order.index(status) if status in order else 0


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "coordinator"


# --- the daily digest -----------------------------------------------------------------------


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants that begin and end a calendar day of the zone (23 or 25 hours
    long on the days the clocks change)."""
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def due_days(now: datetime, zone: ZoneInfo, at: time, sent: Sequence[str],
             catch_up: int = CATCH_UP_DAYS, first_day: date | None = None) -> list[date]:
    """The days whose digest is due at `now` and not yet sent, oldest first.

    The digest for day D is due from `at` local time on D+1, for the last `catch_up` days
    and none before `first_day`. Pure: the worker's scheduler
    only wakes us; this and the `digests` table decide, so a late wake-up, a missed one or
    two workers racing can neither skip a day nor send one twice.
    """
    local = now.astimezone(zone)
    newest = local.date() - timedelta(days=1)
    if local.timetz().replace(tzinfo=None) < at:
        newest -= timedelta(days=1)
    done = set(sent)
    days = [newest - timedelta(days=n) for n in range(catch_up)]
    return sorted(day for day in days if day.isoformat() not in done
                  and (first_day is None or day >= first_day))


def first_day(session: Session, zone: ZoneInfo) -> date | None:
    """The day intake first recorded a message: no digest is due for the days before it
    (a new installation must not greet the coordinator with a week of empty digests)."""
    first = session.scalar(select(func.min(Message.created_at)))
    return first.astimezone(zone).date() if first else None


def digest_data(session: Session, day: date, zone: ZoneInfo) -> DigestData:
    start, end = day_bounds(day, zone)
    members = member_rows(session)
    rows = session.execute(
        select(DeclarationRow, Message)
        .join(Message, DeclarationRow.message_pk == Message.id)
        .where(Message.decided_at >= start, Message.decided_at < end)
        .order_by(Message.received_at, DeclarationRow.id)
    ).all()

    def submission(d: DeclarationRow, m: Message) -> SubmissionRow:
        return SubmissionRow(id=d.id, message_id=m.message_id or "", sender=m.sender,
                             received_at=m.received_at, status=d.status,
                             full_name=str(d.fields.get("full_name", "")),
                             organization=str(d.fields.get("organization", "")),
                             reasons=tuple(d.reasons), detail=d.detail)

    by_status: dict[str, list[SubmissionRow]] = {}
    ignored: set[int] = set()
    for d, m in rows:
        if d.status == Status.IGNORED:
            ignored.add(m.id)
        else:
            by_status.setdefault(d.status, []).append(submission(d, m))
    failed = session.scalars(select(Reply).where(
        Reply.state.in_(["failed", "suppressed"]), Reply.next_attempt_at >= start,
        Reply.next_attempt_at < end).order_by(Reply.id))
    joined = Counter(m.joined_at.astimezone(zone).date() for m in members)
    new = [m for m in members if start <= m.joined_at < end]
    updated = [m for m in members if start <= m.updated_at < end and m not in new]
    return DigestData(
        day=day, timezone=zone, new_members=new, updated_members=updated,
        needs_review=by_status.get(Status.NEEDS_REVIEW, []),
        incomplete=by_status.get(Status.INCOMPLETE, []),
        rejected=by_status.get(Status.REJECTED, []),
        ignored_count=len(ignored),
        failed_replies=[FailedReply(r.recipient, r.subject, _why_unsent(r)) for r in failed],
        all_members=members,
        members_per_day=sorted(joined.items()),
        open_reviews=len(open_reviews(session)),
    )


def send_digest(sessions: sessionmaker[Session], pipeline: Pipeline, connection: SmtpConnection,
                day: date, zone: ZoneInfo, to: Sequence[str], *, skip_empty: bool = False,
                force: bool = False) -> str:
    """Mail the digest for `day` unless it was sent already; says what happened.

    The day is claimed (`sending`) before SMTP and marked `sent` after; a claim left by a
    crash is sent again (the one duplicate SMTP itself cannot rule out, with the same
    Message-ID).
    """
    key = day.isoformat()
    with sessions.begin() as session:
        row = session.scalars(select(DigestSent).where(DigestSent.day == key)
                              .with_for_update()).first()
        if row is not None and row.state == "sent" and not force:
            return f"digest for {key} was sent already"
        data = digest_data(session, day, zone)
        if row is None:
            row = DigestSent(day=key, state="sending", recipients=list(to),
                             message_id=f"<digest.{key}.{uuid.uuid4().hex[:12]}"
                                        f"@{pipeline.sender.domain}>")
            session.add(row)
        if skip_empty and is_empty(data):
            row.state, row.sent_at = "sent", pipeline.now()
            return f"digest for {key}: nothing new, not sent (skip_empty)"
        message_id = row.message_id
    message = build_digest(data, sender=pipeline.sender.address,
                           sender_name=pipeline.sender.name, to=to, message_id=message_id,
                           sent_at=pipeline.now())
    payload = message.as_bytes(policy=policy.SMTP)
    try:
        for recipient in to:
            connection.send(pipeline.sender.address, recipient, payload)
    finally:
        connection.close()
    with sessions.begin() as session:
        session.execute(update(DigestSent).where(DigestSent.day == key)
                        .values(state="sent", sent_at=pipeline.now()))
    return f"digest for {key} sent to {', '.join(to)}"


def sent_days(session: Session) -> list[str]:
    return list(session.scalars(select(DigestSent.day).where(DigestSent.state == "sent")))


def _why_unsent(reply: Reply) -> str:
    """The SMTP server's refusal as it said it, or why intake held the reply back."""
    error = reply.last_error or ""
    if reply.state != "suppressed":
        return error
    if error.startswith("already"):
        return ("zadržan: na ta naslov je danes že šlo največ dovoljenih samodejnih odgovorov "
                f"([smtp] max_replies_per_address_per_day) – {error}")
    return f"zadržan: prejšnji odgovor na ta naslov je bil trajno zavrnjen – {error}"
