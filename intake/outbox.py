"""Sending the replies stored in the outbox: each exactly once, whatever crashes in between.

A reply is composed, given our Message-ID and stored in the same transaction as the decision
it answers (the cycle does that). Sending then goes:

    pending --claim (commit)--> sending --SMTP 250--> sent (commit)
                                        --4xx / network--> pending, retried later with backoff
                                        --5xx--> failed (shown in the digest; no more replies
                                                  to that address)
                                        --421, or MAIL FROM refused--> pending with the rest
                                                  of the batch, no attempt counted; the run
                                                  ends as `unreachable` (the server's or our
                                                  account's problem, not the applicant's)

The claim is a conditional UPDATE, so two processes never send the same row. A crash after
the claim and before the final commit leaves the row `sending`; it is taken up again once
its claimant is known dead (same host, pid gone) or its lease ran out. If the crash came
after the server's 250 but before our commit, that is the one window SMTP itself leaves open
(RFC 1047): the reply is sent a second time, with the same bytes and the same Message-ID,
so the recipient's client shows it once.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from intake.config import SmtpSettings
from intake.errors import ServerUnreachable
from intake.faults import crash_point
from intake.tls import client_context
from storage.models import Reply

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
HOST = socket.gethostname()


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes after each temporary failure, at most an hour apart."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def claimant() -> str:
    return f"{HOST}:{os.getpid()}"


def _claimant_dead(claimed_by: str | None) -> bool:
    if not claimed_by:
        return True
    host, _, pid = claimed_by.rpartition(":")
    if host != HOST or not pid.isdigit():
        return False  # another machine's: only its lease can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return int(pid) != os.getpid() and _is_zombie(int(pid))


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


class SmtpConnection:
    """One SMTP session, opened on first use; closed by close()."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"SMTP {self.settings.host}:{self.settings.port}"

    def open(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        settings = self.settings
        try:
            smtp: smtplib.SMTP
            if settings.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    settings.host,
                    settings.port,
                    timeout=settings.timeout,
                    context=client_context(settings.ca_file),
                )
            else:
                smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
                if settings.security == "starttls":
                    smtp.starttls(context=client_context(settings.ca_file))
            if settings.username:
                smtp.login(settings.username, settings.password.resolve())
        except smtplib.SMTPAuthenticationError as error:
            raise ServerUnreachable(
                f"{self.where}: login as {settings.username!r} refused: "
                f"{error.smtp_code} {_text(error.smtp_error)}"
            ) from None
        except (OSError, smtplib.SMTPException) as error:
            raise ServerUnreachable(f"{self.where}: {_describe(error)}") from None
        self._smtp = smtp
        return smtp

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        smtp = self.open()
        if sender.isascii() and recipient.isascii():
            smtp.sendmail(sender, [recipient], data)
            return
        # A non-ASCII local part (žiga@kranj.si) can only travel with SMTPUTF8 (RFC 6531);
        # without it smtplib would raise UnicodeEncodeError halfway into the transaction.
        try:
            smtp.sendmail(sender, [recipient], data, mail_options=["SMTPUTF8"])
        except smtplib.SMTPNotSupportedError:
            raise smtplib.SMTPRecipientsRefused({recipient: (
                553, f"5.6.7 the address is not ASCII and {self.where} does not offer "
                     "SMTPUTF8".encode())}) from None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


@dataclass
class OutboxReport:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    unreachable: str | None = None  # the SMTP server could not be reached this time


def _text(value: bytes | str) -> str:
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else value).strip()


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, message = next(iter(error.recipients.values()))
        return f"{code} {_text(message)}"
    if isinstance(error, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _permanent(error: BaseException) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        # 552 to RCPT is "too many recipients" from old servers: RFC 5321 4.5.3.1.10 asks
        # clients to take it as the temporary 452.
        return all(code >= 500 and code != 552 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def _server_wide(error: BaseException) -> bool:
    """The server, not this reply, is the problem: 421 (closing the connection, RFC 5321
    3.8) at any step, or MAIL FROM refused (our sender, account or quota). Failing the
    reply would mark the applicant's address as bounced; retrying the rest of the batch
    would hit the same wall once per reply. Except 552 to MAIL FROM: that is this
    message's SIZE (RFC 1870), which the next reply may well be within."""
    if isinstance(error, smtplib.SMTPSenderRefused):
        return error.smtp_code != 552
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return any(code == 421 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code == 421


def send_pending(
    sessions: sessionmaker[Session],
    connection: SmtpConnection,
    *,
    now: Callable[[], datetime],
    lease: timedelta = timedelta(minutes=10),
    limit: int = 50,
) -> OutboxReport:
    """Send every reply that is due; never raises for an SMTP problem.

    An unreachable server leaves the claimed reply pending (with backoff) and ends the run
    with `unreachable` set, so the caller can log the outage once.
    """
    report = OutboxReport()
    after = 0
    while report.unreachable is None:
        with sessions() as session:
            candidates = [
                (row.id, row.state, row.claimed_by, row.next_attempt_at)
                for row in session.execute(
                    select(Reply.id, Reply.state, Reply.claimed_by, Reply.next_attempt_at)
                    .where(
                        or_(Reply.state == "pending", Reply.state == "sending"), Reply.id > after
                    )
                    .order_by(Reply.id)
                    .limit(limit)
                )
            ]
        if not candidates:
            break
        after = candidates[-1][0]
        _send_some(sessions, connection, candidates, report, now=now, lease=lease)
    return report


def _send_some(
    sessions: sessionmaker[Session],
    connection: SmtpConnection,
    candidates: Sequence[tuple[int, str, str | None, datetime]],
    report: OutboxReport,
    *,
    now: Callable[[], datetime],
    lease: timedelta,
) -> None:
    moment = now()
    claimed = _claim(sessions, candidates, moment, lease)
    sender = connection.settings.from_address
    for position, (reply_id, recipient, data, attempts) in enumerate(claimed):
        try:
            connection.send(sender, recipient, data)
        except ServerUnreachable as error:
            _put_back(sessions, [claim[0] for claim in claimed[position:]], str(error), moment)
            report.unreachable = str(error)
            report.retry += len(claimed) - position
            return
        except (OSError, smtplib.SMTPException) as error:
            connection.close()
            if _server_wide(error):
                problem = f"{connection.where}: {_describe(error)}"
                if isinstance(error, smtplib.SMTPSenderRefused):
                    problem = f"{connection.where}: sender {sender} refused: {_describe(error)}"
                _put_back(sessions, [claim[0] for claim in claimed[position:]], problem,
                          moment)
                report.unreachable = problem
                report.retry += len(claimed) - position
                return
            if _permanent(error) or attempts >= MAX_ATTEMPTS:
                _finish(sessions, reply_id, "failed", _describe(error), moment)
                report.failed += 1
                log.warning("reply %s to %s failed: %s", reply_id, recipient, _describe(error))
            else:
                _finish(sessions, reply_id, "pending", _describe(error), moment + backoff(attempts))
                report.retry += 1
            continue
        crash_point("smtp_accepted")
        _finish(sessions, reply_id, "sent", None, moment, sent_at=now())
        report.sent += 1


def _put_back(sessions: sessionmaker[Session], reply_ids: Sequence[int], error: str,
              moment: datetime) -> None:
    """Claimed replies back to pending, due at once. Not these replies' fault: no attempt
    is counted and no backoff applied (the worker backs off from the outage as a whole)."""
    with sessions.begin() as session:
        session.execute(
            update(Reply)
            .where(Reply.id.in_(reply_ids), Reply.state == "sending")
            .values(state="pending", last_error=error, next_attempt_at=moment,
                    claimed_by=None, attempts=Reply.attempts - 1)
        )


def _claim(
    sessions: sessionmaker[Session],
    candidates: Sequence[tuple[int, str, str | None, datetime]],
    moment: datetime,
    lease: timedelta,
) -> list[tuple[int, str, bytes, int]]:
    """Claim the due candidates: one conditional UPDATE each, so a row another process
    took in the meantime is skipped, and one commit for them all. Returns what sending
    them needs: (id, recipient, message bytes, attempts so far)."""
    me = claimant()
    claimed: list[int] = []
    with sessions.begin() as session:
        for reply_id, state, claimed_by, next_at in candidates:
            if state == "pending" and next_at > moment:
                continue
            if state == "sending" and not (next_at <= moment or _claimant_dead(claimed_by)):
                continue
            taken = session.execute(  # type: ignore[attr-defined]
                update(Reply)
                .where(Reply.id == reply_id, Reply.state == state, Reply.next_attempt_at == next_at)
                .values(
                    state="sending",
                    claimed_by=me,
                    attempts=Reply.attempts + 1,
                    next_attempt_at=moment + lease,
                )
            ).rowcount
            if taken == 1:
                claimed.append(reply_id)
        if not claimed:
            return []
        rows = session.execute(select(Reply.id, Reply.recipient, Reply.data, Reply.attempts)
                               .where(Reply.id.in_(claimed)))
        found = {row.id: (row.id, row.recipient, row.data, row.attempts) for row in rows}
    return [found[reply_id] for reply_id in claimed]


def _finish(
    sessions: sessionmaker[Session],
    reply_id: int,
    state: str,
    error: str | None,
    next_at: datetime,
    sent_at: datetime | None = None,
    attempts: int | None = None,
) -> None:
    with sessions.begin() as session:
        values: dict[str, object] = {
            "state": state,
            "last_error": error,
            "next_attempt_at": next_at,
            "claimed_by": None,
        }
        if attempts is not None:
            values["attempts"] = attempts
        if sent_at is not None:
            values["sent_at"] = sent_at
        session.execute(update(Reply).where(Reply.id == reply_id).values(**values))
