"""Replies against real-world address and SMTP quirks: internationalised and sloppy
addresses, long non-ASCII names, and SMTP servers that refuse, close or drop at awkward
moments. Every server here is a real aiosmtpd server (or a silent socket) on loopback."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from intake.config import SmtpSettings
from intake.decide import DeclarationDecision, MessageDecision, Status
from intake.embedded import free_port
from intake.outbox import OutboxReport, SmtpConnection, send_pending
from intake.reading import read_message
from intake.replies import (
    CallDates,
    Sender,
    compose_reply,
    load_templates,
    reply_recipient,
    valid_address,
)
from storage.db import make_engine, session_factory, upgrade
from storage.models import Message, Reply
from tests.messages import build, raw

NOW = datetime(2021, 2, 3, 9, 0, tzinfo=UTC)
SENDER = Sender("metka.lasic@skupnostobcin.si", "Skupnost občin Slovenije",
                "intake.skupnostobcin.si")
DATES = CallDates("9. 2. 2021", "16. 2. 2021 ob 16.00")


# --- choosing the address ----------------------------------------------------------------


def recipient_of(message: bytes) -> str | None:
    return reply_recipient(read_message(message))


def test_an_internationalised_domain_is_answered_at_its_punycode_form() -> None:
    assert recipient_of(build(sender="Ana <ana@občina-šentjur.si>")) == (
        "ana@xn--obina-entjur-prb49i.si")
    assert recipient_of(raw("From: ana@ob\xc4\x8dina-\xc5\xa1entjur.si\nSubject: x\n\nx")) == (
        "ana@xn--obina-entjur-prb49i.si")


def test_quoted_tagged_and_non_ascii_local_parts_are_kept() -> None:
    assert recipient_of(build(sender='Ana <"ana novak"@kranj.si>')) == '"ana novak"@kranj.si'
    assert recipient_of(build(sender="Ana <ana+izjava@kranj.si>")) == "ana+izjava@kranj.si"
    assert recipient_of(build(sender="Žiga <žiga@kranj.si>")) == "žiga@kranj.si"


@pytest.mark.parametrize("value, expected", [
    (" < ana@kranj.si > ", "ana@kranj.si"),
    ("ana@kranj.si.", "ana@kranj.si"),
    ("Ana.Novak@Kranj.SI", "ana.novak@kranj.si"),  # lower case, as limits and erasure compare
    ("ana@kranj", None),
    ("ana novak@kranj.si", None),
    ("ana@kranj.si\r\nBcc: x@evil.example", None),
    ('"ana\r\nBcc: x@evil.example"@kranj.si', None),
    ("ana@-kranj.si", None),
    (f"ana@{'a' * 64}.si", None),
])
def test_sloppy_addresses_are_cleaned_or_refused(value: str, expected: str | None) -> None:
    assert valid_address(value) == expected


def test_reply_to_with_a_broken_first_entry_uses_its_next_address_not_from() -> None:
    """Reply-To says where replies go (RFC 5322 3.6.2): its first usable address wins.
    Only the first entry was looked at; a typo there sent the reply to From."""
    message = raw("From: Tajnistvo <tajnistvo@piran.si>\n"
                  'Reply-To: "Mlakar, Irena" <irena@piran>, Ana <ana@piran.si>\n'
                  "Subject: x\n\nx")
    assert recipient_of(message) == "ana@piran.si"
    two = raw("From: Tajnistvo <tajnistvo@piran.si>\n"
              "Reply-To: Irena <irena@piran.si>, Ana <ana@piran.si>\nSubject: x\n\nx")
    assert recipient_of(two) == "irena@piran.si"


# --- the bytes ---------------------------------------------------------------------------


def composed(recipient: str, sender: Sender = SENDER, organization: str = "Občina Kranj",
             subject: str = "Izjava") -> bytes:
    view = read_message(build(subject=subject))
    decision = MessageDecision(Status.ACCEPTED, (), (DeclarationDecision(
        Status.ACCEPTED, (), {"full_name": "Ana Novak", "organization": organization}),))
    return compose_reply(view, decision, recipient=recipient, sender=sender,
                         message_id="<intake.1@intake.skupnostobcin.si>", date=NOW,
                         templates=load_templates(), dates=DATES, blank_forms=()).data


def header_lines(data: bytes) -> list[bytes]:
    return data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def test_a_long_non_ascii_sender_name_is_folded_into_short_encoded_words() -> None:
    """formataddr made one encoded word of the whole name: 600 characters of Ž gave a
    From line past SMTP's 998 octets."""
    name = "Skupnost občin Slovenije 🎉 " + "Ž" * 600
    data = composed("ana@kranj.si", Sender(SENDER.address, name, SENDER.domain),
                    organization="Občina " + "Š" * 2000, subject="Izjava čšž 🎉 " + "x" * 500)
    assert max(len(line) for line in data.split(b"\r\n")) <= 78
    reply = message_from_bytes(data, policy=policy.default)
    # Decoded as RFC 2047 6.2 says (the space between adjacent words ignored), which
    # policy.default's address parser does not do.
    phrase, address = message_from_bytes(data)["From"].rsplit("<", 1)
    assert str(make_header(decode_header(phrase))) == name
    assert address == f"{SENDER.address}>"
    assert all(not reply[key].defects for key in reply)
    assert "Š" * 2000 in "".join(reply.get_content().split())


def test_a_non_ascii_local_part_is_raw_utf8_in_to_never_an_encoded_word() -> None:
    """RFC 2047 words are not allowed in an address; RFC 6532 headers carry UTF-8."""
    data = composed("žiga@kranj.si")
    assert b"To: \xc5\xbeiga@kranj.si" in header_lines(data)
    assert composed("ana@xn--obina-entjur-prb49i.si").count(
        b"\r\nTo: ana@xn--obina-entjur-prb49i.si\r\n") == 1


def test_a_recipient_with_cr_lf_is_refused() -> None:
    with pytest.raises(ValueError, match="one line"):
        composed("ana@kranj.si\r\nBcc: x@evil.example")


# --- SMTP servers ------------------------------------------------------------------------


@dataclass
class Quirky:
    """An aiosmtpd handler that answers as told: MAIL FROM with `mail`, RCPT TO of an
    address in `rcpt` with its reply, DATA from the `data` list (one per message, "" for
    250), and with `drop_at_data` closes the connection instead of the final 250."""

    mail: str | None = None
    rcpt: dict[str, str] = field(default_factory=dict)
    data: list[str] = field(default_factory=list)
    drop_at_data: int = 0
    received: list[bytes] = field(default_factory=list)
    rcpt_tos: list[str] = field(default_factory=list)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if self.mail:
            return self.mail
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if address in self.rcpt:
            return self.rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = self.data.pop(0) if self.data else ""
        if answer:
            return answer
        self.received.append(envelope.original_content or envelope.content)
        self.rcpt_tos.extend(envelope.rcpt_tos)
        if self.drop_at_data:
            # Taken, but the 250 never reaches the client: RFC 1047's window.
            self.drop_at_data -= 1
            server.transport.close()
        return "250 OK"


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    upgrade(engine)
    return session_factory(engine)


@pytest.fixture
def quirky() -> Iterator[tuple[Quirky, SmtpConnection]]:
    yield from _server(enable_SMTPUTF8=False)


@pytest.fixture
def quirky_utf8() -> Iterator[tuple[Quirky, SmtpConnection]]:
    yield from _server(enable_SMTPUTF8=True)


def _server(**options: Any) -> Iterator[tuple[Quirky, SmtpConnection]]:
    handler = Quirky()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=20,
                            **options)
    controller.start()
    connection = SmtpConnection(SmtpSettings(host="127.0.0.1", port=port, security="none",
                                             timeout=5))
    try:
        yield handler, connection
    finally:
        connection.close()
        controller.stop()


def queue(sessions: sessionmaker[Session], *recipients: str) -> None:
    with sessions.begin() as session:
        message = Message(mailbox="INBOX", uidvalidity=1, uid=1, received_at=NOW, size=1)
        session.add(message)
        session.flush()
        for n, recipient in enumerate(recipients):
            session.add(Reply(message_pk=message.id, kind=f"auto{n}", recipient=recipient,
                              subject="Re: Izjava", our_message_id=f"<intake.{n}@x.si>",
                              data=composed(recipient).replace(
                                  b"<intake.1@intake.skupnostobcin.si>",
                                  f"<intake.{n}@x.si>".encode()),
                              next_attempt_at=NOW, created_at=NOW))


def states(sessions: sessionmaker[Session]) -> list[tuple[str, str, int, str]]:
    with sessions() as session:
        return [(r.recipient, r.state, r.attempts, (r.last_error or "")[:3])
                for r in session.scalars(select(Reply).order_by(Reply.id))]


def send(sessions: sessionmaker[Session], connection: SmtpConnection,
         at: datetime = NOW) -> OutboxReport:
    try:
        return send_pending(sessions, connection, now=lambda: at)
    finally:
        connection.close()


def message_ids(received: list[bytes]) -> list[str]:
    return [str(message_from_bytes(data, policy=policy.default)["Message-ID"])
            for data in received]


def test_a_non_ascii_address_without_smtputf8_fails_once_and_the_batch_goes_on(
    sessions: sessionmaker[Session], quirky: tuple[Quirky, SmtpConnection],
) -> None:
    """smtplib raised UnicodeEncodeError out of send_pending, leaving the whole batch
    `sending` to be tried (and crash) again when the lease ran out."""
    handler, connection = quirky
    queue(sessions, "žiga@kranj.si", "ana@kranj.si")
    report = send(sessions, connection)
    assert (report.sent, report.failed, report.retry) == (1, 1, 0)
    assert states(sessions) == [("žiga@kranj.si", "failed", 1, "553"),
                                ("ana@kranj.si", "sent", 1, "")]
    with sessions() as session:
        error = session.scalars(select(Reply.last_error).where(Reply.state == "failed")).one()
    assert error is not None and "does not offer SMTPUTF8" in error
    assert handler.rcpt_tos == ["ana@kranj.si"]


def test_a_non_ascii_address_goes_with_smtputf8_when_offered(
    sessions: sessionmaker[Session], quirky_utf8: tuple[Quirky, SmtpConnection],
) -> None:
    handler, connection = quirky_utf8
    queue(sessions, "žiga@kranj.si")
    assert send(sessions, connection).sent == 1
    assert handler.rcpt_tos == ["žiga@kranj.si"]
    assert b"\r\nTo: \xc5\xbeiga@kranj.si\r\n" in handler.received[0]


def test_421_mid_batch_puts_the_rest_back_for_the_next_cycle(
    sessions: sessionmaker[Session], quirky: tuple[Quirky, SmtpConnection],
) -> None:
    """The server closes after two messages; before, each remaining reply reconnected and
    was charged an attempt and a backoff for the server's state."""
    handler, connection = quirky
    queue(sessions, "a@kranj.si", "b@kranj.si", "c@kranj.si", "d@kranj.si")
    handler.data = ["", "", "421 4.7.0 too many messages, closing"]
    report = send(sessions, connection)
    assert (report.sent, report.retry, report.failed) == (2, 2, 0)
    assert report.unreachable is not None and "421 4.7.0 too many" in report.unreachable
    assert states(sessions) == [("a@kranj.si", "sent", 1, ""), ("b@kranj.si", "sent", 1, ""),
                                ("c@kranj.si", "pending", 0, "SMT"),
                                ("d@kranj.si", "pending", 0, "SMT")]
    report = send(sessions, connection, NOW + timedelta(minutes=5))
    assert report.sent == 2
    assert message_ids(handler.received) == [f"<intake.{n}@x.si>" for n in range(4)]


def test_452_and_552_to_one_recipient_are_temporary(
    sessions: sessionmaker[Session], quirky: tuple[Quirky, SmtpConnection],
) -> None:
    """552 to RCPT is retried as 452 (RFC 5321 4.5.3.1.10); it used to fail the reply and,
    with it, every later reply to that address."""
    handler, connection = quirky
    queue(sessions, "a@kranj.si", "b@kranj.si", "c@kranj.si")
    handler.rcpt = {"a@kranj.si": "452 4.5.3 too many recipients",
                    "b@kranj.si": "552 5.5.3 too many recipients"}
    report = send(sessions, connection)
    assert (report.sent, report.retry, report.failed) == (1, 2, 0)
    assert states(sessions) == [("a@kranj.si", "pending", 1, "452"),
                                ("b@kranj.si", "pending", 1, "552"),
                                ("c@kranj.si", "sent", 1, "")]


def test_a_refused_sender_fails_no_applicants_address(
    sessions: sessionmaker[Session], quirky: tuple[Quirky, SmtpConnection],
) -> None:
    """554 to MAIL FROM is about us (account, sender address, quota): the replies wait and
    the operator is told; before, every reply failed and each applicant's address was
    then treated as bounced."""
    handler, connection = quirky
    queue(sessions, "a@kranj.si", "b@kranj.si")
    handler.mail = "554 5.7.1 sender blocked"
    report = send(sessions, connection)
    assert (report.sent, report.retry, report.failed) == (0, 2, 0)
    assert report.unreachable == (f"{connection.where}: sender {SENDER.address} refused: "
                                  "554 5.7.1 sender blocked")
    assert states(sessions) == [("a@kranj.si", "pending", 0, "SMT"),
                                ("b@kranj.si", "pending", 0, "SMT")]
    handler.mail = None
    assert send(sessions, connection).sent == 2


def test_a_size_refusal_at_mail_from_fails_only_that_reply(
    sessions: sessionmaker[Session], quirky: tuple[Quirky, SmtpConnection],
) -> None:
    handler, connection = quirky
    queue(sessions, "a@kranj.si")
    handler.mail = "552 5.3.4 message size exceeds fixed maximum message size"
    report = send(sessions, connection)
    assert (report.failed, report.unreachable) == (1, None)


def test_a_connection_dropped_before_the_final_250_resends_with_the_same_message_id(
    sessions: sessionmaker[Session], quirky: tuple[Quirky, SmtpConnection],
) -> None:
    handler, connection = quirky
    queue(sessions, "a@kranj.si", "b@kranj.si")
    handler.drop_at_data = 1
    report = send(sessions, connection)
    assert (report.sent, report.retry) == (1, 1)
    assert states(sessions)[0][:3] == ("a@kranj.si", "pending", 1)
    assert send(sessions, connection, NOW + timedelta(minutes=5)).sent == 1
    # The server kept it twice; the recipient's client shows one (same Message-ID).
    assert message_ids(handler.received) == ["<intake.0@x.si>", "<intake.1@x.si>",
                                             "<intake.0@x.si>"]
    assert handler.received[0] == handler.received[2]


def test_a_server_that_never_greets_is_unreachable_and_costs_no_attempt(
    sessions: sessionmaker[Session],
) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        connection = SmtpConnection(SmtpSettings(host="127.0.0.1", port=port,
                                                 security="none", timeout=1))
        queue(sessions, "a@kranj.si")
        report = send(sessions, connection)
    assert report.unreachable == (f"SMTP 127.0.0.1:{port}: "
                                  "Connection unexpectedly closed: timed out")
    assert states(sessions) == [("a@kranj.si", "pending", 0, "SMT")]


def _private_ca(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    """A CA of our own and a server certificate for 127.0.0.1 signed by it."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    start = datetime.now(UTC) - timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("intake test CA"))
          .issuer_name(name("intake test CA")).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(start).not_valid_after(start + timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(2).not_valid_before(start)
            .not_valid_after(start + timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = (tmp_path / "ca.pem", tmp_path / "cert.pem",
                                    tmp_path / "key.pem")
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return ca_file, context


def test_starttls_with_a_private_ca_is_trusted_through_ca_file(
    sessions: sessionmaker[Session], tmp_path: Path,
) -> None:
    """A server certificate from a private CA is refused with a one-line error, and
    trusted once [smtp] ca_file names that CA (verification is never switched off)."""
    ca_file, context = _private_ca(tmp_path)
    handler = Quirky()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=20,
                            tls_context=context, require_starttls=True)
    controller.start()
    try:
        settings = SmtpSettings(host="127.0.0.1", port=port, security="starttls", timeout=5)
        queue(sessions, "a@kranj.si")
        report = send(sessions, SmtpConnection(settings))
        assert report.unreachable is not None
        assert "certificate verify failed" in report.unreachable
        trusted = SmtpConnection(replace(settings, ca_file=ca_file))
        assert send(sessions, trusted).sent == 1
    finally:
        controller.stop()
