"""The coordinator's commands on a seeded database: the daily digest, review decisions, the
member list, and erasure on request — through the real `intake` command.

The database is seeded by the real cycle (pymap, the sandboxed parsers, aiosmtpd) with only
the clock faked, so that one day, 9 February 2021, holds every section of the digest: Ana
Novak joins on the 8th and updates her data on the 9th, when the rest of the sample mailbox
is decided and the first reply of the day bounces.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from intake.bootstrap import (
    build_pipeline,
    mailbox_opener,
    open_database,
    sandbox_for,
    smtp_connection,
)
from intake.config import parse_settings
from intake.cycle import poll_once
from intake.embedded import EmbeddedImap, MailSink
from intake.samples import Sample, sample_mailbox
from storage.db import make_engine
from storage.models import Declaration, Message
from tests.harness import intake, seed, submissions
from tests.servers import ImapAccount

ZONE = ZoneInfo("Europe/Ljubljana")
SAMPLES = {sample.name: sample for sample in sample_mailbox()}
DAY = "2021-02-09"
ANA = "ana.novak@kranj.si"


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2021, 1, 1, tzinfo=ZONE)

    def __call__(self) -> datetime:
        return self.at


def settings_text(account: ImapAccount, sink: MailSink, url: str) -> str:
    return (account.config_toml()
            + f'[smtp]\nhost = "{sink.host}"\nport = {sink.port}\nsecurity = "none"\n'
            'username = ""\ntimeout = 10\n'
            f'[database]\nurl = "{url}"\n')


def seed_database(url: str, account: ImapAccount, sink: MailSink,
                  phases: Sequence[tuple[datetime, Sequence[Sample], bool]]) -> None:
    """Each phase: append its messages, set the clock, run one real poll cycle (the first
    reply bouncing with 550 when the phase says so)."""
    settings = parse_settings(settings_text(account, sink, url), "seed.toml")
    database = open_database(settings)
    clock = Clock()
    try:
        with sandbox_for(settings) as sandbox:
            pipeline = build_pipeline(settings, database, sandbox.parse, now=clock)
            for moment, batch, bounce in phases:
                seed(account, list(batch))
                clock.at = moment
                if bounce:
                    sink.handler.fail_with = "550 5.1.1 mailbox unavailable"
                    sink.handler.fail_count = 1
                report = poll_once(pipeline, mailbox_opener(settings), smtp_connection(settings))
                assert report.new == len(batch) and report.imap_error is None
    finally:
        database.engine.dispose()


def write_config(directory: Path, sink: MailSink, url: str) -> Path:
    """A configuration for the coordinator's commands: the database and the SMTP sink."""
    config = directory / "config.toml"
    config.write_text(
        f'[smtp]\nhost = "{sink.host}"\nport = {sink.port}\nsecurity = "none"\n'
        'username = ""\ntimeout = 10\n'
        f'[database]\nurl = "{url}"\n'
    )
    return config


@pytest.fixture(scope="module")
def seeded_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the whole sample mailbox, decided on 8 and 9 February."""
    directory = tmp_path_factory.mktemp("seeded")
    path = directory / "intake.db"
    first = [SAMPLES["accepted-docx"]]
    rest = [sample for sample in SAMPLES.values() if sample.name != "accepted-docx"]
    with EmbeddedImap(user="coordinator", password="secret") as server, MailSink() as sink:
        account = ImapAccount("pymap", server.host, server.port, server.user, server.password)
        seed_database(f"sqlite:///{path}", account, sink, [
            (datetime(2021, 2, 8, 10, 0, tzinfo=ZONE), first, False),
            (datetime(2021, 2, 9, 11, 0, tzinfo=ZONE), rest, True),
        ])
    return path


@dataclass
class Copy:
    config: Path
    database: Path
    ids: dict[str, int]  # sample name -> the id of its (first) declaration


@pytest.fixture
def copy(seeded_day: Path, tmp_path: Path, mail_sink: MailSink) -> Copy:
    """The seeded database for this test alone, and this test's SMTP sink."""
    database = tmp_path / "intake.db"
    shutil.copyfile(seeded_day, database)
    config = write_config(tmp_path, mail_sink, f"sqlite:///{database}")
    by_message_id = {sample.message_id: name for name, sample in SAMPLES.items()}
    ids: dict[str, int] = {}
    with sqlite3.connect(database) as connection:
        for declaration_id, message_id in connection.execute(
                "select d.id, m.message_id from declarations d join messages m "
                "on d.message_pk = m.id order by d.id"):
            ids.setdefault(by_message_id[message_id], declaration_id)
    connection.close()
    return Copy(config, database, ids)


# --- the digest ------------------------------------------------------------------------------


def expected_text(ids: dict[str, int]) -> str:
    """The text part for 9 February, written from what the samples are (not from a run)."""

    def review(name: str, who: str, received: str, reasons: str,
               detail: str = "") -> list[str]:
        n = ids[name]
        return [f"- #{n} {who}, prejeto {received}", f"  razlogi: {reasons}",
                *([f"  podrobnosti: {detail}"] if detail else []),
                f"  odobri:  intake review approve {n}",
                f'  zavrni:  intake review reject {n} --reason "..."']

    def member(who: str, organization: str, role: str) -> list[str]:
        return [f"- {who}", f"  {organization}", f"  vloga: {role}"]

    in_town = "stiki z javnostmi v občini"
    return "\n".join([
        "Mreža komunikatorjev – povzetek za torek, 9. 2. 2021",
        "",
        "Ta dan: 6 novih članov, 1 posodobitev, 4 v pregled, 1 neposlan odgovor, "
        "2 nepopolni prijavi, 2 zavrnjeni prijavi, 4 prezrta sporočila.",
        "",
        "ČAKA NA VAŠO ODLOČITEV (4)",
        *review("review-unknown-municipality",
                "Nina Golob <nina.golob@atlantida.si>, Občina Atlantida", "6. 2. 2021 ob 13:00",
                "občine ni bilo mogoče prepoznati [unknown_municipality]"),
        *review("review-role-mismatch",
                "Urban Zajc <urban.zajc@zavod-cerkno.si>, Javni zavod Cerkno",
                "7. 2. 2021 ob 10:00", "vloga se ne ujema z vrsto organizacije [role_mismatch]"),
        *review("review-unreadable", "<maja.kos@celje.si>", "7. 2. 2021 ob 15:00",
                "priloge ni bilo mogoče prebrati [unreadable_attachment]", "poškodovan PDF"),
        *review("review-late",
                "Gregor Rozman <gregor.rozman@jesenice.si>, Občina Jesenice",
                "12. 2. 2021 ob 10:00", "prejeto po roku za prijavo [late]"),
        "",
        "NEPOSLANI ODGOVORI (1)",
        "- bojan.kovac@knjiznica-ptuj.si: »Re: Pristop k mreži komunikatorjev«",
        "  napaka: 550 5.1.1 mailbox unavailable",
        "",
        "NOVI ČLANI (6)",
        *member("Bojan Kovač <bojan.kovac@knjiznica-ptuj.si>", "Knjižnica Ivana Potrča Ptuj",
                "stiki z javnostmi v javnem zavodu"),
        *member("Jože Župan <zupan@kostel.si>", "Občina Kostel", "župan/-ja"),
        *member("Eva Breznik <eva.breznik@maribor.si>", "Mestna občina Maribor", in_town),
        *member("Rok Petek <rok.petek@maribor.si>", "Mestna občina Maribor",
                "direktor/-ica občinske uprave"),
        *member("Sara Vidmar <sara.vidmar@maribor.si>", "Mestna občina Maribor",
                "drug/-a zaposleni/-a"),
        *member("Irena Mlakar <irena.mlakar@piran.si>", "Občina Piran", in_town),
        "",
        "POSODOBLJENI PODATKI ČLANOV (1)",
        *member(f"Ana Novak <{ANA}>", "Mestna občina Kranj", in_town),
        "",
        "NEPOPOLNE PRIJAVE (2)",
        "- Petra Zupan <petra.zupan@bled.si>, prejeto 5. 2. 2021 ob 10:00",
        "  razlogi: manjka: E-naslov [missing:email]; "
        "ni soglasja za obdelavo osebnih podatkov [missing:consent]",
        "- <tina.kralj@velenje.si>, prejeto 5. 2. 2021 ob 12:00",
        "  razlogi: v sporočilu ni izjave (ne v prilogi ne v besedilu) [no_declaration]",
        "",
        "ZAVRNJENE PRIJAVE (2)",
        "- Luka Medved <luka@medved-pr.si>, prejeto 6. 2. 2021 ob 09:00",
        "  razlogi: organizacija ni občina ali občinski javni zavod [not_eligible]",
        "  podrobnosti: »Medved PR d.o.o.« je gospodarska družba",
        "- Mojca Hribar <mojca.hribar@logatec.si>, prejeto 17. 2. 2021 ob 09:00",
        "  razlogi: prejeto po zaprtju razpisa [closed]",
        "",
        "PREZRTA SPOROČILA: 4 (samodejna sporočila in pošta, ki ni prijava; "
        "ostala so nedotaknjena)",
        "",
        "RAZPIS DOSLEJ",
        "Članov: 7",
        "Občine z vsaj enim članom: 5 od 212 (2 %)",  # Kranj, Ptuj, Kostel, Maribor, Piran
        "Vseh odprtih v pregledu: 4",
        "Po vlogah:",
        f"     3  {in_town}",
        "     1  direktor/-ica občinske uprave",
        "     1  župan/-ja",
        "     1  stiki z javnostmi v javnem zavodu",
        "     1  drug/-a zaposleni/-a",
        "Novi člani po dnevih:",
        "    8. 2.    1 " + "█" * 5,
        "    9. 2.    6 " + "█" * 30 + " ←",
        "",
        "Priloge: members.csv in members.xlsx – vsi člani do zdaj.",
    ]) + "\n"


def text_part(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    content: str = body.get_content()
    return content.replace("\r\n", "\n")


def attachments(message: EmailMessage) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for part in message.iter_attachments():
        data = part.get_payload(decode=True)
        assert isinstance(data, bytes)
        found[str(part.get_filename())] = data
    return found


def test_digest_of_a_seeded_day_has_every_section_and_the_member_list_attached(
    copy: Copy, mail_sink: MailSink,
) -> None:
    """GIVEN the seeded database
    WHEN `intake digest --date 2021-02-09 --send` runs
    THEN the coordinator gets one mail whose text part lists every section of that day
    exactly, and whose CSV and XLSX attachments hold exactly `intake members --format json`."""
    sent = intake(copy.config, "digest", "--date", DAY, "--send")
    assert sent.stdout == f"digest for {DAY} sent to metka.lasic@skupnostobcin.si\n"
    envelopes = mail_sink.wait_for(1)
    assert [e.rcpt_tos for e in envelopes] == [["metka.lasic@skupnostobcin.si"]]
    message = envelopes[0].message
    assert message["Subject"] == (
        "Mreža komunikatorjev: povzetek za 9. 2. 2021 "
        "(6 novih članov, 1 posodobitev, 4 v pregled, 1 neposlan odgovor)")
    assert text_part(message) == expected_text(copy.ids)

    members = [json.loads(line) for line in
               intake(copy.config, "members", "--format", "json").stdout.splitlines()]
    assert [m["email"] for m in members] == [
        ANA, "bojan.kovac@knjiznica-ptuj.si", "zupan@kostel.si", "eva.breznik@maribor.si",
        "rok.petek@maribor.si", "sara.vidmar@maribor.si", "irena.mlakar@piran.si"]
    files = attachments(message)
    assert set(files) == {"members.csv", "members.xlsx"}

    as_csv = list(csv.DictReader(io.StringIO(files["members.csv"].decode("utf-8-sig"))))
    assert as_csv == [{key: csv_cell(value) for key, value in m.items()} for m in members]

    sheet = openpyxl.load_workbook(io.BytesIO(files["members.xlsx"])).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(members[0])
    # An empty text is an empty cell in a spreadsheet, which reads back as None.
    read_back = [{key: "" if value is None else value
                  for key, value in zip(rows[0], row, strict=True)} for row in rows[1:]]
    assert read_back == [
        {key: xlsx_cell(key, value) for key, value in m.items()} for m in members]


def csv_cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(value)
    return str(value)


def xlsx_cell(key: str, value: Any) -> Any:
    if key in ("joined_at", "updated_at"):
        return datetime.fromisoformat(value).astimezone(ZONE).replace(tzinfo=None)
    if isinstance(value, list):
        return "; ".join(value)
    return value


# --- review decisions ------------------------------------------------------------------------


def one_line_error(done: Any) -> str:
    """The command failed as the interface says: exit 2, one line, no traceback."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    line: str = lines[0]
    return line


def test_review_approve_and_reject_send_exactly_one_reply_each(
    copy: Copy, mail_sink: MailSink,
) -> None:
    """GIVEN the seeded database with four submissions waiting for review
    WHEN the coordinator approves one, rejects one with a reason, and then tries each again
    THEN each decision sends the applicant one threaded reply and says so; deciding again,
    approving a submission without an address, or rejecting without a reason is refused
    with one line and exit 2, and sends nothing."""
    nina, urban, maja, gregor = (copy.ids[name] for name in (
        "review-unknown-municipality", "review-role-mismatch", "review-unreadable",
        "review-late"))
    approved = intake(copy.config, "review", "approve", str(nina))
    assert approved.stdout == f"submission {nina}: accepted; 1 reply sent\n"
    again = intake(copy.config, "review", "approve", str(nina), check=False)
    assert one_line_error(again) == (
        f"intake: review: submission {nina} is accepted, not waiting for review")

    reason = "Javni zavod Cerkno ni ustanovila občina Cerkno."
    rejected = intake(copy.config, "review", "reject", str(urban), "--reason", reason)
    assert rejected.stdout == f"submission {urban}: rejected; 1 reply sent\n"
    refused = intake(copy.config, "review", "approve", str(urban), check=False)
    assert one_line_error(refused) == (
        f"intake: review: submission {urban} is rejected, not waiting for review")

    assert one_line_error(intake(copy.config, "review", "approve", str(maja), check=False)) == (
        f"intake: review: submission {maja} has no e-mail address to make a member of; "
        "reject it or ask the applicant for a new declaration")
    assert one_line_error(intake(copy.config, "review", "reject", str(gregor), check=False)) == (
        "intake: review reject: give --reason TEXT; the applicant receives it")

    envelopes = mail_sink.wait_for(2)
    assert [e.rcpt_tos for e in envelopes] == [["nina.golob@atlantida.si"],
                                               ["urban.zajc@zavod-cerkno.si"]]
    to_nina, to_urban = (e.message for e in envelopes)
    assert to_nina["In-Reply-To"] == SAMPLES["review-unknown-municipality"].message_id
    assert to_urban["In-Reply-To"] == SAMPLES["review-role-mismatch"].message_id
    nina_text = " ".join(text_part(to_nina).split())
    assert "Nina Golob (Občina Atlantida) ste vpisani med člane mreže." in nina_text
    urban_text = " ".join(text_part(to_urban).split())
    assert f"je žal ne more sprejeti: {reason}" in urban_text
    assert "vpisani med člane" not in urban_text

    # Oldest first; the decided ones are gone from the list.
    header, *left = intake(copy.config, "review", "list").stdout.splitlines()
    assert header.split() == ["id", "received", "sender", "name", "organisation", "reasons"]
    assert [line.split()[:4] for line in left] == [
        [str(maja), "2021-02-07", "15:00", "maja.kos@celje.si"],
        [str(gregor), "2021-02-12", "10:00", "gregor.rozman@jesenice.si"]]
    members = [json.loads(line)["email"] for line in
               intake(copy.config, "members", "--format", "json").stdout.splitlines()]
    assert len(members) == 8 and members[-1] == "nina.golob@atlantida.si"
    assert len(mail_sink.envelopes) == 2


# --- erasure ---------------------------------------------------------------------------------


def traces(url: str, needles: Sequence[str]) -> dict[str, int]:
    """Rows holding any of the needles (case-insensitively) in any column, by table.column:
    every table of the database, every value read back as text or bytes."""
    engine = make_engine(url)
    found: dict[str, int] = {}
    try:
        with engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                result = connection.execute(text(f'select * from "{table}"'))
                columns = list(result.keys())
                for row in result:
                    for column, value in zip(columns, row, strict=True):
                        if value is None:
                            continue
                        if isinstance(value, bytes | memoryview):
                            haystack = bytes(value).decode("latin-1").lower()
                        elif isinstance(value, dict | list):
                            haystack = json.dumps(value, ensure_ascii=False).lower()
                        else:
                            haystack = str(value).lower()
                        if any(needle in haystack for needle in needles):
                            key = f"{table}.{column}"
                            found[key] = found.get(key, 0) + 1
    finally:
        engine.dispose()
    return found


def outcomes(url: str) -> list[tuple[str, str, list[str]]]:
    """(message status, declaration status, reasons) of every declaration, in order."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return [(m.status, d.status, list(d.reasons)) for d, m in session.execute(
                select(Declaration, Message).join(Message, Declaration.message_pk == Message.id)
                .order_by(Declaration.id)).all()]
    finally:
        engine.dispose()


def files_with(directory: Path, needles: Sequence[str]) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if path.is_file()
                  and any(n.encode() in path.read_bytes().lower() for n in needles))


def vacuum(database: Path) -> None:
    """Fold the WAL into the file and rebuild it, so freed pages keep no old bytes."""
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


@pytest.fixture
def small_database(tmp_path: Path, pymap_account: ImapAccount, mail_sink: MailSink,
                   database_url: str) -> Iterator[tuple[Path, str]]:
    """Ana's three messages (two declarations, one out-of-office reply) among others'."""
    seed_database(database_url, pymap_account, mail_sink, [
        (datetime(2021, 2, 8, 10, 0, tzinfo=ZONE),
         [SAMPLES[n] for n in ("accepted-docx", "accepted-pdf", "review-unknown-municipality")],
         False),
        (datetime(2021, 2, 9, 11, 0, tzinfo=ZONE),
         [SAMPLES[n] for n in ("out-of-office", "accepted-updated")], False),
    ])
    yield write_config(tmp_path, mail_sink, database_url), database_url


def test_members_remove_leaves_no_trace_of_the_address(
    tmp_path: Path, small_database: tuple[Path, str],
) -> None:
    """GIVEN a database where Ana Novak is a member, with two declarations, an out-of-office
    reply and two replies to her
    WHEN `intake members remove` is given her address in other letter case
    THEN no table and (SQLite) no byte of the database files holds her address or name,
    while the other applicants' records and the statistics of hers are unchanged."""
    config, url = small_database
    needles = (ANA, "ana novak")
    before = traces(url, needles)
    # The check finds what is there: the address is in every kind of column beforehand.
    assert {"members.email", "members.fields", "messages.sender", "declarations.fields",
            "replies.recipient", "replies.data", "raw_messages.data"} <= set(before)
    if url.startswith("sqlite"):
        assert files_with(tmp_path, needles) == ["intake.db"]
    statuses = outcomes(url)

    done = intake(config, "members", "remove", "Ana.Novak@KRANJ.si")
    assert done.stdout.startswith("erased Ana.Novak@KRANJ.si: ")

    assert traces(url, needles) == {}
    if url.startswith("sqlite"):
        vacuum(tmp_path / "intake.db")
        assert files_with(tmp_path, needles) == []

    # Her messages keep their outcome for the call's statistics, nothing that names her.
    assert outcomes(url) == statuses
    rows = submissions(config)
    ana_ids = {SAMPLES[n].message_id for n in ("accepted-docx", "out-of-office",
                                               "accepted-updated")}
    for row in rows:
        if row["message_id"] is None or row["message_id"] in ana_ids:
            assert (row["sender"], row["fields"], row["reply"]) == ("", {}, None)
    others = {str(row["message_id"]): row for row in rows if row["message_id"] not in ana_ids}
    assert {key for key in others if key != "None"} == {
        SAMPLES["accepted-pdf"].message_id, SAMPLES["review-unknown-municipality"].message_id}
    members = [json.loads(line)["email"] for line in
               intake(config, "members", "--format", "json").stdout.splitlines()]
    assert members == ["bojan.kovac@knjiznica-ptuj.si"]
