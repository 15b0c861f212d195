"""The orchestrator: one poll cycle, from the mailbox to the outbox.

Everything that decides is a pure function (reading, parsers, decide, replies); this module
sequences the I/O around them, and the order is what makes intake lose nothing and answer
once:

 1. fetch a group of new messages (mailbox: one FETCH, at most 8 MB)
 2. keep their raw bytes, record them "received", and advance the checkpoint -> COMMIT
 3. read them, find their declarations (in the sandbox's workers), decide (pure, no DB)
 4. store each decision, its declarations, member upserts and the composed reply (with our
    Message-ID), only if the message is still "received" -> ONE COMMIT for the group,
    each message in a savepoint
 5. send what the outbox holds (outbox.py)

Steps 3-4 of one group overlap with steps 1-3 of the next: the workers parse group k+1
while this thread decides group k.

A crash after 2 leaves a "received" message whose raw bytes are kept: the next cycle decides
it from those bytes without asking the server again. A crash after 4 leaves a pending reply:
the outbox sends it. An unexpected error in 3 or 4 is itself an outcome: needs_review with
`internal_error` and the traceback, and the batch goes on.
"""

from __future__ import annotations

import hashlib
import logging
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from intake.config import LimitSettings
from intake.decide import (
    INTERNAL_ERROR,
    Campaign,
    DeclarationDecision,
    Facts,
    MessageDecision,
    Status,
    decide,
    speaks_of_joining,
    too_early,
)
from intake.errors import ServerUnreachable
from intake.faults import crash_point
from intake.mailbox import Mailbox, RawMessage
from intake.municipalities import Municipalities
from intake.outbox import OutboxReport, SmtpConnection, send_pending
from intake.reading import MessageView, newest_received, read_message
from intake.replies import (
    CallDates,
    Sender,
    Templates,
    compose,
    compose_reply,
    our_message_id,
    reply_recipient,
)
from parsers.find import find_declarations
from parsers.model import UNREADABLE_ATTACHMENT, Declaration
from storage.models import Declaration as DeclarationRow
from storage.models import MailboxState, Member, Message, Reply
from storage.models import RawMessage as RawRow

log = logging.getLogger(__name__)

Parse = Callable[[bytes, str | None], list[Declaration]]

# The database refused a write because of another process (a unique key taken meanwhile, a
# deadlock, a lock wait that timed out): the work is retried, never recorded as the
# message's own internal_error.
_CONFLICTS = (IntegrityError, OperationalError)

FILE_MAILBOX = "file"  # the mailbox name of messages given to `intake ingest`

# Parts that travel with mail but are never a declaration: signatures, calendars, cards.
_NOT_DOCUMENTS = frozenset({
    "application/pkcs7-signature", "application/x-pkcs7-signature",
    "application/pgp-signature", "application/pgp-keys", "text/calendar", "text/vcard",
    "text/x-vcard", "message/delivery-status", "message/disposition-notification",
    "text/rfc822-headers",
})
# Images below this size that travel inline are logos in signatures, not scans.
_LOGO_BYTES = 40_000


@dataclass(frozen=True)
class Pipeline:
    """What a cycle needs, built once from the settings by intake.bootstrap."""

    sessions: sessionmaker[Session]
    campaign: Campaign
    municipalities: Municipalities
    parse: Parse
    templates: Templates
    sender: Sender
    dates: CallDates
    blank_forms: tuple[tuple[str, str, bytes], ...]
    limits: LimitSettings
    max_replies_per_day: int
    now: Callable[[], datetime]
    parse_workers: int = 2  # messages parsed at once (the sandbox's worker processes)


@dataclass
class CycleReport:
    new: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    skipped_early: int = 0
    duplicates: int = 0
    moved: int = 0
    outbox: OutboxReport = field(default_factory=OutboxReport)
    imap_error: str | None = None
    seconds: float = 0.0

    def count(self, status: str) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1

    def summary(self) -> str:
        statuses = ", ".join(f"{name} {n}" for name, n in sorted(self.by_status.items()))
        parts = [f"{self.new} new" + (f" ({statuses})" if statuses else "")]
        parts.append(f"{self.outbox.sent} replies sent")
        if self.outbox.retry:
            parts.append(f"{self.outbox.retry} to retry")
        if self.outbox.failed:
            parts.append(f"{self.outbox.failed} failed")
        if self.moved:
            parts.append(f"{self.moved} moved")
        if self.duplicates:
            parts.append(f"{self.duplicates} duplicates skipped")
        if self.skipped_early:
            parts.append(f"{self.skipped_early} before the call opened")
        return "; ".join(parts) + f"; {self.seconds:.2f} s"


# --- step 3: pure ------------------------------------------------------------------------


def candidates(view: MessageView) -> list[tuple[str | None, bytes]]:
    """The attachments worth parsing: not signatures, cards, or logos in a signature."""
    chosen: list[tuple[str | None, bytes]] = []
    for attachment in view.attachments:
        if attachment.content_type in _NOT_DOCUMENTS:
            continue
        if (attachment.content_type.startswith("image/") and attachment.inline
                and len(attachment.data) < _LOGO_BYTES):
            continue
        chosen.append((attachment.filename, attachment.data))
    return chosen


def declarations_in(view: MessageView, parse: Parse) -> list[Declaration]:
    """Every declaration of the message: attachments, the body, forwarded bodies."""
    return find_declarations(view.body_text, candidates(view), parse, body_html=view.body_html,
                             forwarded=view.forwarded_bodies)


def oversized_view(headers: bytes, size: int, limit: int) -> tuple[MessageView, list[Declaration]]:
    """A message too big to download: judged on its headers, its content unreadable."""
    view = read_message(headers + b"\r\n")
    detail = f"sporočilo je večje od {limit // 2**20} MB in ga nismo prenesli ({size} B)"
    return view, [Declaration({}, (UNREADABLE_ATTACHMENT,), source="", detail=detail)]


# --- step 2: keep the raw message ----------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _already_have(session: Session, message_id: str | None, sha256: str) -> bool:
    """The very same bytes recorded before, e.g. re-listed after a UIDVALIDITY change."""
    query = select(Message.id).where(Message.sha256 == sha256)
    if message_id:
        query = query.where(Message.message_id == message_id)
    return session.scalars(query.limit(1)).first() is not None


def receive(
    pipeline: Pipeline, *, mailbox: str, uidvalidity: int, uid: int, received_at: datetime,
    size: int, data: bytes,
) -> int | None:
    """Keep the bytes and record the message as received; its id, or None if known already.

    The checkpoint of an IMAP folder advances in the same transaction, so "recorded" and
    "will not be fetched again" are one fact.
    """
    view = read_message(data)
    digest = _sha256(data)
    for _attempt in range(3):
        try:
            message_pk = _record(pipeline, view, digest, mailbox=mailbox,
                                 uidvalidity=uidvalidity, uid=uid, received_at=received_at,
                                 size=size, data=data)
        except IntegrityError:
            # A concurrent process recorded this message (or the folder's first checkpoint)
            # a moment earlier; looking again finds its row.
            continue
        break
    else:
        return None
    if message_pk is None:
        return None
    crash_point("raw_kept")
    return message_pk


def _record(pipeline: Pipeline, view: MessageView, digest: str, *, mailbox: str,
            uidvalidity: int, uid: int, received_at: datetime, size: int,
            data: bytes) -> int | None:
    with pipeline.sessions.begin() as session:
        if mailbox != FILE_MAILBOX:
            _advance(session, mailbox, uidvalidity, uid)
        if _already_have(session, view.message_id, digest):
            return None
        if session.get(RawRow, digest) is None:
            session.add(RawRow(sha256=digest, size=len(data), data=data))
        row = Message(
            mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, message_id=view.message_id,
            sender=view.sender[:320], subject=view.subject, received_at=received_at, size=size,
            sha256=digest, status="received", reasons=[], created_at=pipeline.now(),
        )
        session.add(row)
        session.flush()
        return row.id


def _advance(session: Session, mailbox: str, uidvalidity: int, uid: int) -> None:
    state = session.scalars(
        select(MailboxState).where(MailboxState.mailbox == mailbox).with_for_update()
    ).first()
    if state is None:
        session.add(MailboxState(mailbox=mailbox, uidvalidity=uidvalidity, last_uid=uid))
    elif state.uidvalidity != uidvalidity:
        state.uidvalidity, state.last_uid = uidvalidity, uid
    elif uid > state.last_uid:
        state.last_uid = uid


# --- step 4: store the outcome --------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    message_pk: int
    status: str
    reasons: tuple[str, ...]


Prepared = tuple[MessageView, list[Declaration]]


def prepare(pipeline: Pipeline, data: bytes,
            oversized: tuple[bytes, int] | None = None) -> Prepared:
    """Read a message and find its declarations: the slow, pure half of deciding, which
    the cycle runs for several messages at once."""
    if oversized:
        return oversized_view(oversized[0], oversized[1], pipeline.limits.max_message_bytes)
    view = read_message(data)
    return view, declarations_in(view, pipeline.parse)


def process(pipeline: Pipeline, message_pk: int, data: bytes | None = None,
            oversized: tuple[bytes, int] | None = None,
            prepared: Future[Prepared] | None = None) -> Outcome | None:
    """Decide one received message and store the outcome; None if another process did.

    `prepared`, when given, is the message already read and parsed (or the error that
    reading it raised). A unique-constraint race with a concurrent process (the same new
    member from two messages at once) is retried once with fresh facts.
    """
    for attempt in (1, 2):
        try:
            return _process(pipeline, message_pk, data, oversized, prepared)
        except _CONFLICTS:
            if attempt == 2:
                raise
            log.info("message %s: concurrent update, deciding again", message_pk)
    return None


def _process(pipeline: Pipeline, message_pk: int, data: bytes | None,
             oversized: tuple[bytes, int] | None,
             prepared: Future[Prepared] | None) -> Outcome | None:
    with pipeline.sessions() as session:
        row = session.get_one(Message, message_pk)
        if row.status != "received":
            return None
        received_at = row.received_at
        if data is None and prepared is None:
            raw = session.get(RawRow, row.sha256) if row.sha256 else None
            data = raw.data if raw else b""
            if row.size > pipeline.limits.max_message_bytes:
                oversized = (data, row.size)

    view: MessageView | None = None
    try:
        if prepared is not None:
            view, declarations = prepared.result()
        else:
            view, declarations = prepare(pipeline, data or b"", oversized)
        emails = {str(d.fields["email"]).lower() for d in declarations
                  if isinstance(d.fields.get("email"), str) and d.fields["email"]}
        with pipeline.sessions() as session:
            members = _member_emails(session, emails)
        facts = Facts(received_at, pipeline.campaign, pipeline.municipalities, members)
        decision = decide(view, declarations, facts)
        with pipeline.sessions.begin() as session:
            outcome = _store(session, pipeline, message_pk, view, declarations, decision)
    except _CONFLICTS:
        raise
    except Exception:
        error = traceback.format_exc()
        log.error("message %s: unexpected error, kept for review:\n%s", message_pk, error)
        if view is None and data is not None:
            view = read_message(data)
        with pipeline.sessions.begin() as session:
            outcome = _store_error(session, pipeline, message_pk, view, error)
    if outcome is not None:
        crash_point("decided")
    return outcome


def _member_emails(session: Session, emails: Iterable[str]) -> frozenset[str]:
    wanted = sorted(set(emails))
    if not wanted:
        return frozenset()
    found = session.scalars(select(func.lower(Member.email))
                            .where(func.lower(Member.email).in_(wanted)))
    return frozenset(found)


def _claim(session: Session, message_pk: int) -> Message | None:
    """The message, locked for this transaction, if it still awaits a decision."""
    row = session.scalars(
        select(Message).where(Message.id == message_pk).with_for_update()
    ).first()
    return row if row is not None and row.status == "received" else None


def _store(session: Session, pipeline: Pipeline, message_pk: int, view: MessageView,
           declarations: Sequence[Declaration], decision: MessageDecision) -> Outcome | None:
    row = _claim(session, message_pk)
    if row is None:
        return None
    now = pipeline.now()
    parsed = {d.source: d for d in declarations}
    for position, item in enumerate(decision.declarations):
        source = parsed.get(item.source)
        member_id = upsert_member(session, item, now) if item.status == Status.ACCEPTED else None
        session.add(DeclarationRow(
            message_pk=message_pk, position=position, source=item.source[:300],
            fields=dict(item.fields), problems=list(source.problems) if source else [],
            detail="; ".join(item.notes)[:5000], status=str(item.status),
            reasons=list(item.reasons), member_id=member_id,
        ))
    row.status, row.reasons = str(decision.status), list(decision.reasons)
    row.error = decision.detail if INTERNAL_ERROR in decision.reasons else None
    row.decided_at = now
    if decision.reply:
        _queue_reply(session, pipeline, row, view, decision, now)
    return Outcome(message_pk, str(decision.status), decision.reasons)


def _store_error(session: Session, pipeline: Pipeline, message_pk: int,
                 view: MessageView | None, error: str) -> Outcome | None:
    row = _claim(session, message_pk)
    if row is None:
        return None
    now = pipeline.now()
    for old in list(row.declarations):
        session.delete(old)
    session.flush()
    reasons = [INTERNAL_ERROR]
    session.add(DeclarationRow(message_pk=message_pk, position=0, source="", fields={},
                               problems=[], detail="", status=str(Status.NEEDS_REVIEW),
                               reasons=reasons))
    row.status, row.reasons, row.error, row.decided_at = (
        str(Status.NEEDS_REVIEW), reasons, error[-20000:], now
    )
    # Answer only what plainly is an application: a colleague's note that crashed a parser
    # must not get an automatic reply.
    if view is not None and speaks_of_joining(view, pipeline.campaign.application_keywords):
        item = DeclarationDecision(Status.NEEDS_REVIEW, (INTERNAL_ERROR,), {})
        decision = MessageDecision(Status.NEEDS_REVIEW, (INTERNAL_ERROR,), (item,))
        _queue_reply(session, pipeline, row, view, decision, now)
    return Outcome(message_pk, str(Status.NEEDS_REVIEW), tuple(reasons))


def upsert_member(session: Session, item: DeclarationDecision, now: datetime) -> int:
    fields = dict(item.fields)
    email = str(fields.get("email", "")).lower()
    member = session.scalars(
        select(Member).where(func.lower(Member.email) == email).with_for_update()
    ).first()
    if member is None:
        member = Member(email=email, joined_at=now)
        session.add(member)
    member.full_name = str(fields.get("full_name", ""))[:300]
    member.organization = str(fields.get("organization", ""))[:500]
    member.municipality = str(fields.get("municipality", ""))[:200]
    member.role = str(fields.get("role", ""))[:40]
    member.fields = fields
    member.updated_at = now
    session.flush()
    return member.id


def _queue_reply(session: Session, pipeline: Pipeline, row: Message, view: MessageView,
                 decision: MessageDecision, now: datetime, kind: str = "auto") -> None:
    recipient = reply_recipient(view)
    if recipient is None:
        return
    message_id = our_message_id(uuid.uuid4().hex, pipeline.sender.domain)
    reply = compose_reply(
        view, decision, recipient=recipient, sender=pipeline.sender, message_id=message_id,
        date=now, templates=pipeline.templates, dates=pipeline.dates,
        blank_forms=pipeline.blank_forms,
    )
    _add_reply(session, pipeline, row, kind, recipient, reply.subject, message_id, reply.data,
               now)


def _add_reply(session: Session, pipeline: Pipeline, row: Message, kind: str, recipient: str,
               subject: str, message_id: str, data: bytes, now: datetime) -> None:
    """Store a reply to send; held back (state `suppressed`) after a hard bounce from that
    address or past the daily limit, so that two robots cannot keep each other busy."""
    state, why = "pending", None
    bounced, recent = session.execute(
        select(
            # A permanent refusal of the address; 552 is "message too big", not the address.
            func.count(Reply.id).filter(Reply.state == "failed", Reply.last_error.like("5%"),
                                        Reply.last_error.not_like("552%")),
            func.count(Reply.id).filter(Reply.created_at > now - timedelta(days=1),
                                        Reply.state != "suppressed"),
        ).where(Reply.recipient == recipient)
    ).one()
    if bounced:
        state, why = "suppressed", "an earlier reply to this address bounced permanently"
    elif kind == "auto" and recent >= pipeline.max_replies_per_day:
        state, why = "suppressed", f"already {recent} replies to this address today"
    session.add(Reply(message_pk=row.id, kind=kind, recipient=recipient, subject=subject,
                      our_message_id=message_id, data=data, state=state, last_error=why,
                      next_attempt_at=now, created_at=now))


def queue_review_reply(session: Session, pipeline: Pipeline, row: Message, text: str,
                       kind: str) -> None:
    """The reply to a coordinator's decision (intake review approve/reject)."""
    raw = session.get(RawRow, row.sha256) if row.sha256 else None
    view = read_message(raw.data if raw else b"")
    recipient = reply_recipient(view)
    if recipient is None:
        return
    now = pipeline.now()
    message_id = our_message_id(uuid.uuid4().hex, pipeline.sender.domain)
    reply = compose(view, [text], recipient=recipient, sender=pipeline.sender,
                    message_id=message_id, date=now, templates=pipeline.templates)
    _add_reply(session, pipeline, row, kind, recipient, reply.subject, message_id, reply.data,
               now)


# --- the cycle ------------------------------------------------------------------------------


def process_pending(pipeline: Pipeline, report: CycleReport | None = None,
                    should_stop: Callable[[], bool] = lambda: False) -> None:
    """Decide messages a crash left "received" (their raw bytes were kept)."""
    with pipeline.sessions() as session:
        pending = session.scalars(
            select(Message.id).where(Message.status == "received").order_by(Message.id)
        ).all()
    for message_pk in pending:
        if should_stop():
            return
        outcome = process(pipeline, message_pk)
        if outcome and report:
            report.count(outcome.status)


def poll_mailbox(pipeline: Pipeline, mailbox: Mailbox, batch_size: int,
                 processed_folder: str = "", report: CycleReport | None = None,
                 should_stop: Callable[[], bool] = lambda: False) -> CycleReport:
    """Fetch, keep and decide every new message of the open mailbox.

    `should_stop` is asked between messages: a worker told to stop finishes the message in
    hand, commits it, and leaves the rest for the next start.
    """
    report = report or CycleReport()
    folder = mailbox.settings.folder
    with pipeline.sessions() as session:
        state = session.scalars(select(MailboxState).where(MailboxState.mailbox == folder)).first()
        last_uid = state.last_uid if state and state.uidvalidity == mailbox.uidvalidity else 0
        if state and state.uidvalidity != mailbox.uidvalidity:
            log.warning("%s: UIDVALIDITY changed (%s -> %s): re-reading the folder; messages "
                        "already recorded are recognised by content", folder, state.uidvalidity,
                        mailbox.uidvalidity)
    uids = mailbox.uids_after(last_uid)
    with pipeline.sessions() as session:
        known = set(session.scalars(select(Message.uid).where(
            Message.mailbox == folder, Message.uidvalidity == mailbox.uidvalidity,
            Message.uid.in_(uids))).all()) if uids else set()
    uids = [uid for uid in uids if uid not in known]
    limit = pipeline.limits.max_message_bytes
    with ThreadPoolExecutor(max_workers=pipeline.parse_workers,
                            thread_name_prefix="parse") as pool:
        # Two groups in flight: while the workers parse the group just fetched, this thread
        # decides the one before it, so neither waits for the other.
        in_hand: _Group | None = None
        try:
            for start in range(0, len(uids), batch_size):
                if should_stop():
                    break
                batch = uids[start:start + batch_size]
                for group in mailbox.fetch_groups(batch, limit,
                                                  skip_before=pipeline.campaign.opens):
                    fetched = _take_group(pipeline, folder, group, report, pool)
                    if in_hand is not None:
                        _decide_group(pipeline, in_hand, report)
                    in_hand = fetched
                    if should_stop():
                        break
        except ServerUnreachable:
            # What was kept before the connection dropped is decided now, not next cycle.
            if in_hand is not None:
                _decide_group(pipeline, in_hand, report)
            raise
        if in_hand is not None:
            _decide_group(pipeline, in_hand, report)
    if processed_folder and not should_stop():
        report.moved += _move_applications(pipeline, mailbox, processed_folder)
    return report


@dataclass(frozen=True)
class _Received:
    message_pk: int
    raw: RawMessage
    view: MessageView


@dataclass(frozen=True)
class _Group:
    """A fetched group, kept in the database, its messages being parsed."""

    received: list[_Received]
    parsed: list[Future[Prepared]]


def _take_group(pipeline: Pipeline, folder: str, group: Sequence[RawMessage],
                report: CycleReport, pool: ThreadPoolExecutor) -> _Group:
    """Keep a fetched group (one commit) and start parsing its messages in the sandbox's
    workers."""
    received = _receive_group(pipeline, folder, group, report)
    if received:
        crash_point("raw_kept")
    return _Group(received, [pool.submit(_prepare_viewed, pipeline, item.view, item.raw)
                             for item in received])


def _decide_group(pipeline: Pipeline, group: _Group, report: CycleReport) -> None:
    """Decide and store a group's messages in UID order, in one transaction.

    The group is finished even when a stop is asked for (poll_mailbox stops between
    groups): it is small, and no message is left half-processed. A conflict with a
    concurrent process (the same new member at the same moment) rolls the group back and
    decides it again one message at a time, with fresh facts.
    """
    if not group.received:
        return
    results: list[Prepared | str] = []
    for future in group.parsed:
        try:
            results.append(future.result())
        except Exception:
            results.append(traceback.format_exc())
    try:
        outcomes = _store_group(pipeline, group.received, results)
    except _CONFLICTS as error:
        log.info("%s: deciding %d messages one at a time", type(error).__name__,
                 len(group.received))
        outcomes = []
        for item, future in zip(group.received, group.parsed, strict=True):
            outcome = process(pipeline, item.message_pk, item.raw.raw, prepared=future)
            if outcome is not None:
                outcomes.append(outcome)
    if outcomes:
        crash_point("decided")
    for outcome in outcomes:
        report.count(outcome.status)


def _store_group(pipeline: Pipeline, received: Sequence[_Received],
                 results: Sequence[Prepared | str]) -> list[Outcome]:
    emails = {str(d.fields["email"]).lower() for result in results if not isinstance(result, str)
              for d in result[1] if isinstance(d.fields.get("email"), str) and d.fields["email"]}
    outcomes: list[Outcome] = []
    with pipeline.sessions.begin() as session:
        # Lock the group's messages first, in id order, before any member row: a process
        # deciding one of them alone (process_pending) then never holds a message this
        # transaction waits for while waiting for a member this one holds.
        session.execute(select(Message.id).where(Message.id.in_([r.message_pk for r in received]))
                        .order_by(Message.id).with_for_update()).all()
        members = set(_member_emails(session, emails))
        for item, result in zip(received, results, strict=True):
            outcome = _decide_one(session, pipeline, item, result, members)
            if outcome is not None:
                outcomes.append(outcome)
    return outcomes


def _decide_one(session: Session, pipeline: Pipeline, item: _Received, result: Prepared | str,
                members: set[str]) -> Outcome | None:
    """Decide one message of a group inside the group's transaction; an unexpected error
    is itself an outcome (needs_review, internal_error), in a savepoint of its own."""
    view = item.view
    if isinstance(result, str):
        error = result
    else:
        view, declarations = result
        try:
            facts = Facts(item.raw.internaldate, pipeline.campaign, pipeline.municipalities,
                          frozenset(members))
            decision = decide(view, declarations, facts)
            with session.begin_nested():
                outcome = _store(session, pipeline, item.message_pk, view, declarations,
                                 decision)
        except _CONFLICTS:
            raise
        except Exception:
            error = traceback.format_exc()
        else:
            members.update(str(d.fields.get("email", "")).lower()
                           for d in decision.declarations if d.status == Status.ACCEPTED)
            return outcome
    log.error("message %s: unexpected error, kept for review:\n%s", item.message_pk, error)
    with session.begin_nested():
        return _store_error(session, pipeline, item.message_pk, view, error)


def _prepare_viewed(pipeline: Pipeline, view: MessageView, raw: RawMessage) -> Prepared:
    if raw.raw is None:
        return oversized_view(raw.headers, raw.size, pipeline.limits.max_message_bytes)
    return view, declarations_in(view, pipeline.parse)


def _receive_group(pipeline: Pipeline, folder: str, group: Sequence[RawMessage],
                   report: CycleReport) -> list[_Received]:
    """Keep every message of the group and advance the checkpoint past it, in one
    transaction; a conflict with a concurrent process falls back to one at a time."""
    try:
        return _record_group(pipeline, folder, group, report)
    except IntegrityError:
        received: list[_Received] = []
        for raw in group:
            if too_early(raw.internaldate, pipeline.campaign):
                report.skipped_early += 1
                continue
            data = raw.raw if raw.raw is not None else raw.headers
            message_pk = receive(pipeline, mailbox=folder, uidvalidity=raw.uidvalidity,
                                 uid=raw.uid, received_at=raw.internaldate, size=raw.size,
                                 data=data)
            if message_pk is None:
                report.duplicates += 1
            else:
                report.new += 1
                received.append(_Received(message_pk, raw, read_message(data)))
        if group:
            with pipeline.sessions.begin() as session:
                _advance(session, folder, group[-1].uidvalidity, group[-1].uid)
        return received


def _record_group(pipeline: Pipeline, folder: str, group: Sequence[RawMessage],
                  report: CycleReport) -> list[_Received]:
    if not group:
        return []
    kept: list[tuple[RawMessage, MessageView, bytes, str]] = []
    early = 0
    for raw in group:
        if too_early(raw.internaldate, pipeline.campaign):
            early += 1
            continue
        data = raw.raw if raw.raw is not None else raw.headers
        kept.append((raw, read_message(data), data, _sha256(data)))
    pending: list[tuple[RawMessage, MessageView, Message]] = []
    duplicates = 0
    with pipeline.sessions.begin() as session:
        last = max(group, key=lambda raw: raw.uid)
        _advance(session, folder, last.uidvalidity, last.uid)
        digests = sorted({digest for *_, digest in kept})
        known = _Known(session, digests)
        for raw, view, data, digest in kept:
            if known.message(view.message_id, digest):
                duplicates += 1
                continue
            if digest not in known.raw:
                session.add(RawRow(sha256=digest, size=len(data), data=data))
            row = Message(
                mailbox=folder, uidvalidity=raw.uidvalidity, uid=raw.uid,
                message_id=view.message_id, sender=view.sender[:320], subject=view.subject,
                received_at=raw.internaldate, size=raw.size, sha256=digest,
                status="received", reasons=[], created_at=pipeline.now(),
            )
            session.add(row)
            known.add(view.message_id, digest)
            pending.append((raw, view, row))
        session.flush()
    report.skipped_early += early
    report.duplicates += duplicates
    report.new += len(pending)
    return [_Received(row.id, raw, view) for raw, view, row in pending]


class _Known:
    """What the database (and this group so far) already holds of a group's messages:
    the same bytes under the same Message-ID are a message seen before (re-listed after a
    UIDVALIDITY change, or appended twice); the same bytes alone are one raw row."""

    def __init__(self, session: Session, digests: Sequence[str]) -> None:
        self.raw: set[str] = set()
        self.messages: set[tuple[str, str | None]] = set()
        if digests:
            self.raw.update(session.scalars(select(RawRow.sha256)
                                            .where(RawRow.sha256.in_(digests))))
            self.messages.update(
                (digest, message_id) for digest, message_id in session.execute(
                    select(Message.sha256, Message.message_id)
                    .where(Message.sha256.in_(digests)))
                if digest is not None)

    def message(self, message_id: str | None, digest: str) -> bool:
        if message_id:
            return (digest, message_id) in self.messages
        return any(known == digest for known, _ in self.messages)

    def add(self, message_id: str | None, digest: str) -> None:
        self.raw.add(digest)
        self.messages.add((digest, message_id))


def _move_applications(pipeline: Pipeline, mailbox: Mailbox, target: str) -> int:
    """Move decided applications (never ignored mail) out of the inbox, after the commit."""
    folder = mailbox.settings.folder
    with pipeline.sessions() as session:
        rows = session.execute(select(Message.id, Message.uid).where(
            Message.mailbox == folder, Message.uidvalidity == mailbox.uidvalidity,
            Message.moved_to.is_(None), Message.status.notin_(["received", "ignored"]),
        )).all()
    if not rows:
        return 0
    moved = set(mailbox.move([uid for _, uid in rows], target))
    with pipeline.sessions.begin() as session:
        for message_pk, uid in rows:
            if uid in moved:  # one the coordinator deleted meanwhile was not moved
                session.get_one(Message, message_pk).moved_to = target
    return len(moved)


def poll_once(pipeline: Pipeline, open_mailbox: Callable[[], Mailbox],
              smtp: SmtpConnection | None, *, batch_size: int = 50,
              processed_folder: str = "",
              should_stop: Callable[[], bool] = lambda: False) -> CycleReport:
    """One cycle: leftovers, new mail, then the outbox.

    An unreachable mailbox does not stop the outbox from sending what is queued; it is
    reported in `imap_error` for the caller to raise or log.
    """
    started = time.monotonic()
    report = CycleReport()
    process_pending(pipeline, report, should_stop)
    try:
        with open_mailbox() as mailbox:
            poll_mailbox(pipeline, mailbox, batch_size, processed_folder, report, should_stop)
    except ServerUnreachable as error:
        report.imap_error = str(error)
    if smtp is not None:
        try:
            report.outbox = send_pending(pipeline.sessions, smtp, now=pipeline.now)
        finally:
            smtp.close()
    report.seconds = time.monotonic() - started
    return report


def ingest(pipeline: Pipeline, path: Path, received_at: datetime | None) -> Outcome | str:
    """A saved message processed as if it had arrived; the outcome, or why not."""
    data = path.read_bytes()
    when = newest_received(read_message(data)) or received_at
    if when is None:
        return "no Received: header; give --received-at"
    if too_early(when, pipeline.campaign):
        return "received before the call opened; not looked at"
    with pipeline.sessions() as session:
        uid = (session.scalar(select(func.max(Message.uid))
                              .where(Message.mailbox == FILE_MAILBOX)) or 0) + 1
    message_pk = receive(pipeline, mailbox=FILE_MAILBOX, uidvalidity=0, uid=uid,
                         received_at=when, size=len(data), data=data)
    if message_pk is None:
        return "already received"
    outcome = process(pipeline, message_pk, data)
    return outcome or "decided by another process"
