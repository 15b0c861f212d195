"""What was received and what became of it, as the plain rows `intake submissions` prints.

One row per declaration (a message without a usable declaration has one row with empty
fields), in the shape fixed by spec/interface.md.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from storage.models import Message, Reply


def submission_rows(session: Session, zone: ZoneInfo, *,
                    status: str | None = None) -> list[dict[str, Any]]:
    query = select(Message).options(selectinload(Message.declarations)).order_by(Message.id)
    messages = session.scalars(query).all()
    replies: dict[int, Reply] = {}
    if messages:
        for reply in session.scalars(select(Reply).where(
                Reply.message_pk.in_([m.id for m in messages])).order_by(Reply.id)):
            replies[reply.message_pk] = reply  # the latest (a review decision's) wins
    rows: list[dict[str, Any]] = []
    for message in messages:
        latest = replies.get(message.id)
        common = {
            "message_id": message.message_id,
            "sender": message.sender,
            "received_at": message.received_at.astimezone(zone).isoformat(),
            "reply": {"status": latest.state, "to": latest.recipient} if latest else None,
        }
        if not message.declarations:
            rows.append({"id": None, **common, "status": message.status,
                         "reasons": list(message.reasons), "member_id": None, "fields": {}})
        for declaration in message.declarations:
            rows.append({
                "id": declaration.id, **common, "status": declaration.status,
                "reasons": list(declaration.reasons), "member_id": declaration.member_id,
                "fields": dict(declaration.fields),
            })
    if status:
        rows = [row for row in rows if row["status"] == status]
    # The interface's key order: id, message_id, sender, received_at, status, reasons, ...
    order = ("id", "message_id", "sender", "received_at", "status", "reasons", "member_id",
             "fields", "reply")
    return [{key: row[key] for key in order} for row in rows]
