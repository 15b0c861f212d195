"""The reply as composed: threading, RFC 3834 marks, and no header injection from what an
applicant wrote."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import Header
from pathlib import Path

import pytest

from intake.decide import DeclarationDecision, MessageDecision, Status
from intake.reading import read_message
from intake.replies import (
    CallDates,
    Sender,
    TemplateError,
    compose_reply,
    load_templates,
    reply_recipient,
)
from tests.messages import raw

SENDER = Sender("metka.lasic@skupnostobcin.si", "Skupnost občin Slovenije",
                "intake.skupnostobcin.si")
DATES = CallDates("9. 2. 2021", "16. 2. 2021 ob 16.00")
ACCEPTED = MessageDecision(Status.ACCEPTED, (), (DeclarationDecision(
    Status.ACCEPTED, (), {"full_name": "Ana Novak", "organization": "Mestna občina Kranj"}),))
INCOMPLETE = MessageDecision(Status.INCOMPLETE, ("missing:email", "missing:consent"), (
    DeclarationDecision(Status.INCOMPLETE, ("missing:email", "missing:consent"), {}),))
FORMS = (("izjava-o-pristopu.pdf", "application/pdf", b"%PDF-1.7 blank"),)


def compose(message: bytes, decision: MessageDecision = ACCEPTED) -> bytes:
    view = read_message(message)
    recipient = reply_recipient(view)
    assert recipient is not None
    reply = compose_reply(view, decision, recipient=recipient, sender=SENDER,
                          message_id="<intake.1@intake.skupnostobcin.si>",
                          date=datetime(2021, 2, 3, 9, 0, tzinfo=UTC),
                          templates=load_templates(), dates=DATES, blank_forms=FORMS)
    return reply.data


def test_a_reply_is_threaded_and_marked_automatic() -> None:
    data = compose(raw("""
From: Ana Novak <ana.novak@kranj.si>
Subject: Izjava o pristopu
Message-ID: <a2@kranj.si>
References: <a0@kranj.si> <a1@kranj.si>

x
"""))
    reply = message_from_bytes(data, policy=policy.default)
    assert reply["To"] == "ana.novak@kranj.si"
    assert reply["Subject"] == "Re: Izjava o pristopu"
    assert reply["In-Reply-To"] == "<a2@kranj.si>"
    assert reply["References"] == "<a0@kranj.si> <a1@kranj.si> <a2@kranj.si>"
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["X-Auto-Response-Suppress"] == "All"
    assert reply["Message-ID"] == "<intake.1@intake.skupnostobcin.si>"
    assert "Ana Novak (Mestna občina Kranj) ste vpisani" in " ".join(
        reply.get_body(("plain",)).get_content().split())  # type: ignore[union-attr]


def test_what_the_applicant_wrote_cannot_add_headers() -> None:
    """A subject and a Message-ID carrying encoded CR/LF and a Bcc header."""
    data = compose(raw("""
From: Ana Novak <ana.novak@kranj.si>
Subject: =?utf-8?q?Izjava=0D=0ABcc:_victim@evil.example?=
Message-ID: <a@kranj.si>=?utf-8?q?=0D=0ABcc:_victim2@evil.example?=

x
"""))
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    assert "evil.example" not in head.split("Subject:")[0]
    assert not any(line.lower().startswith("bcc") for line in head.splitlines())
    reply = message_from_bytes(data, policy=policy.default)
    assert reply["Bcc"] is None
    assert "\n" not in str(reply["Subject"])
    # Only a well-formed Message-ID is echoed, never what was smuggled after it.
    assert reply["In-Reply-To"] in (None, "<a@kranj.si>")
    assert "evil" not in str(reply["References"] or "")


def test_a_huge_subject_is_cut_and_folded_within_smtps_line_limit() -> None:
    subject = Header(f"Izjava {'ž' * 3000} {'x' * 3000}", "utf-8").encode()
    data = compose(raw(f"""
From: Ana Novak <ana.novak@kranj.si>
Subject: {subject}
Message-ID: <a@kranj.si>

x
"""))
    head = data.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    subject = str(message_from_bytes(data, policy=policy.default)["Subject"])
    assert subject.startswith("Re: Izjava žžž") and len(subject) <= 4 + 200


def test_the_reply_goes_to_reply_to_when_it_is_an_address() -> None:
    view = read_message(raw("""
From: Tajnistvo <tajnistvo@piran.si>
Reply-To: Irena Mlakar <irena.mlakar@piran.si>
Subject: x

x
"""))
    assert reply_recipient(view) == "irena.mlakar@piran.si"
    broken = read_message(raw("""
From: Ana <ana@kranj.si>
Reply-To: not an address
Subject: x

x
"""))
    assert reply_recipient(broken) == "ana@kranj.si"


def test_an_incomplete_reply_lists_what_is_missing_and_attaches_the_form() -> None:
    reply = message_from_bytes(compose(raw("""
From: ana@kranj.si
Subject: Izjava

x
"""), INCOMPLETE), policy=policy.default)
    text = reply.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert "  - E-naslov\n" in text and "  - Soglasje (označeno polje)\n" in text
    assert [part.get_filename() for part in reply.iter_attachments()] == [
        "izjava-o-pristopu.pdf"]


def test_an_operators_template_file_is_checked(tmp_path: Path) -> None:
    broken = tmp_path / "replies.toml"
    broken.write_text('greeting = "Živjo,"\n', encoding="utf-8")
    with pytest.raises(TemplateError, match="missing texts: signature, accepted"):
        load_templates(broken)
