"""Smoke tests: every server the suite relies on is real and answers the protocol."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage

from sqlalchemy import inspect

from intake.embedded import MailSink
from storage.db import make_engine, upgrade
from tests.servers import ImapAccount


def test_imap_login_append_search_fetch(imap_account: ImapAccount) -> None:
    received = datetime(2021, 2, 3, 10, 12, tzinfo=UTC)
    raw = b"From: Ana <ana@kranj.si>\r\nSubject: Izjava\r\nMessage-ID: <a1@kranj.si>\r\n\r\nx\r\n"
    with imap_account.client() as client:
        client.append("INBOX", raw, flags=(), msg_time=received)
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        assert len(uids) == 1
        data = client.fetch(uids, ["INTERNALDATE", "RFC822.SIZE", "BODY.PEEK[]", "FLAGS"])[uids[0]]
    assert data[b"BODY[]"] == raw
    assert data[b"RFC822.SIZE"] == len(raw)
    assert data[b"INTERNALDATE"] == received
    assert b"\\Seen" not in data[b"FLAGS"]


def test_smtp_sink_receives_what_was_sent(mail_sink: MailSink) -> None:
    message = EmailMessage()
    message["From"] = "metka.lasic@skupnostobcin.si"
    message["To"] = "ana@kranj.si"
    message["Subject"] = "Re: Izjava"
    message.set_content("Prejeli smo vašo izjavo.")
    with smtplib.SMTP(mail_sink.host, mail_sink.port, timeout=10) as smtp:
        smtp.send_message(message, to_addrs=["ana@kranj.si"])
    [envelope] = mail_sink.wait_for(1)
    assert envelope.rcpt_tos == ["ana@kranj.si"]
    assert envelope.message["Subject"] == "Re: Izjava"
    assert "Prejeli smo vašo izjavo." in envelope.message.get_content()


def test_smtp_sink_refuses_when_told(mail_sink: MailSink) -> None:
    mail_sink.handler.fail_with, mail_sink.handler.fail_count = "451 4.3.0 try later", 1
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@b.si", "c@d.si", "x"
    message.set_content("x")
    with smtplib.SMTP(mail_sink.host, mail_sink.port, timeout=10) as smtp:
        try:
            smtp.send_message(message)
        except smtplib.SMTPDataError as error:
            assert error.smtp_code == 451
        else:
            raise AssertionError("the sink accepted a message it was told to refuse")
        smtp.send_message(message)
    assert len(mail_sink.wait_for(1)) == 1


def test_schema_is_created(database_url: str) -> None:
    engine = make_engine(database_url)
    assert upgrade(engine) == "0001"
    tables = set(inspect(engine).get_table_names())
    assert {
        "messages",
        "raw_messages",
        "declarations",
        "members",
        "replies",
        "digests",
        "mailbox_state",
        "audit",
        "alembic_version",
    } <= tables
    engine.dispose()
