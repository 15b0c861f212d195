"""decide(): exact status, reasons and stored fields for every rule of spec/interface.md."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.decide import (
    AUTO_RULES,
    DECLARATION_RULES,
    SEVERITY,
    Campaign,
    DeclarationDecision,
    Facts,
    LatePolicy,
    MessageDecision,
    Status,
    auto_submitted_reason,
    decide,
    is_application,
    status_for,
    status_of,
    too_early,
    worst,
)
from intake.municipalities import load_municipalities
from intake.reading import Attachment, MessageView, read_message
from parsers.model import FIELDS, Declaration, FieldValue
from tests.messages import build

LJ = ZoneInfo("Europe/Ljubljana")
CAMPAIGN = Campaign(
    opens=datetime(2021, 1, 29, 16, 0, tzinfo=LJ),
    deadline=datetime(2021, 2, 9, 23, 59, 59, tzinfo=LJ),
    closes=datetime(2021, 2, 16, 16, 0, tzinfo=LJ),
    late_policy="review",
    our_addresses=frozenset({"metka.lasic@skupnostobcin.si"}),
    our_domains=frozenset({"skupnostobcin.si"}),
)
MUNICIPALITIES = load_municipalities()
ON_TIME = datetime(2021, 2, 3, 10, 12, tzinfo=LJ)
FACTS = Facts(
    received_at=ON_TIME,
    campaign=CAMPAIGN,
    municipalities=MUNICIPALITIES,
    member_emails=frozenset({"member@celje.si"}),
)

GOOD: dict[str, FieldValue] = {
    "full_name": "Ana Novak",
    "job_title": "svetovalka za odnose z javnostmi",
    "email": "Ana.Novak@Kranj.si",
    "organization_type": "obcina",
    "organization": "Mestna občina Kranj",
    "role": "pr_staff",
    "consent": True,
}
GOOD_STORED = {**GOOD, "email": "ana.novak@kranj.si", "municipality": "Kranj"}
ZAVOD: dict[str, FieldValue] = {
    **GOOD,
    "email": "info@skofja-loka.com",
    "organization_type": "javni_zavod",
    "organization": "Zavod za turizem Škofja Loka",
    "role": "institution_pr",
}
ZAVOD_STORED = {**ZAVOD, "municipality": "Škofja Loka"}


def view(
    subject: str = "Izjava o pristopu",
    body: str = "V prilogi pošiljam izjavo.",
    sender: str = "ana.novak@kranj.si",
    headers: Mapping[str, str] = MappingProxyType({}),
    **kwargs: Any,
) -> MessageView:
    lowered = {k.lower(): (v,) for k, v in headers.items()}
    return MessageView(
        subject=subject,
        body_text=body,
        sender=sender,
        headers=MappingProxyType(lowered),
        message_id="<1@kranj.si>",
        **kwargs,
    )


def with_fields(**changes: FieldValue | None) -> dict[str, FieldValue]:
    fields = dict(GOOD)
    for name, value in changes.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return fields


UNREADABLE = Declaration({}, ("unreadable_attachment",), "scan.pdf", "a scan without text")


@dataclass(frozen=True)
class Case:
    name: str
    fields: Mapping[str, FieldValue]
    status: Status
    reasons: tuple[str, ...]
    stored: Mapping[str, FieldValue] | None = None  # None: only checked where it matters
    problems: tuple[str, ...] = ()


CASES = [
    Case("accepted", GOOD, Status.ACCEPTED, (), GOOD_STORED),
    Case("obcina named without prefix", with_fields(organization="Obcina Skofja Loka"),
         Status.ACCEPTED, (), {**GOOD_STORED, "organization": "Obcina Skofja Loka",
                                "municipality": "Škofja Loka"}),
    Case("mayor of a municipality", with_fields(role="mayor", organization="Občina Mirna Peč"),
         Status.ACCEPTED, (), {**GOOD_STORED, "role": "mayor", "organization": "Občina Mirna Peč",
                                "municipality": "Mirna Peč"}),
    Case("obcina: municipality field wins over a vague organisation",
         with_fields(organization="Občinska uprava", municipality="Ptuj"),
         Status.ACCEPTED, (), {**GOOD_STORED, "organization": "Občinska uprava",
                                "municipality": "Ptuj"}),
    Case("javni zavod: municipality derived from its name", ZAVOD, Status.ACCEPTED, (),
         ZAVOD_STORED),
    Case("javni zavod: municipality given, matched", {**ZAVOD, "organization": "Knjižnica",
                                                      "municipality": "obcina skofja loka"},
         Status.ACCEPTED, (), {**ZAVOD_STORED, "organization": "Knjižnica"}),
    Case("javni zavod in the media trade is still a javni zavod",
         {**ZAVOD, "organization": "Javni zavod Radio Celje"}, Status.ACCEPTED, (),
         {**ZAVOD, "organization": "Javni zavod Radio Celje", "municipality": "Celje"}),
    Case("missing name", with_fields(full_name=None), Status.INCOMPLETE, ("missing:full_name",)),
    Case("missing name and email", with_fields(full_name="", email=None), Status.INCOMPLETE,
         ("missing:full_name", "missing:email")),
    Case("email not an address", with_fields(email="ana(at)kranj.si"), Status.INCOMPLETE,
         ("missing:email",)),
    Case("consent not given", with_fields(consent=False), Status.INCOMPLETE, ("missing:consent",)),
    Case("missing organisation type", with_fields(organization_type=None), Status.INCOMPLETE,
         ("missing:organization_type",), {**GOOD_STORED, "organization_type": "x"}),
    Case("javni zavod: municipality nowhere", {**ZAVOD, "organization": "Vrtec Ciciban"},
         Status.INCOMPLETE, ("missing:municipality",),
         {**ZAVOD, "organization": "Vrtec Ciciban"}),
    Case("javni zavod: parser's missing:municipality dropped once derived", ZAVOD,
         Status.ACCEPTED, (), ZAVOD_STORED, problems=("missing:municipality",)),
    Case("javni zavod: municipality not in the list", {**ZAVOD, "municipality": "Zagreb"},
         Status.NEEDS_REVIEW, ("unknown_municipality",), {**ZAVOD, "municipality": "Zagreb"}),
    Case("obcina not in the list", with_fields(organization="Občina Atlantida"),
         Status.NEEDS_REVIEW, ("unknown_municipality",),
         {**GOOD_STORED, "organization": "Občina Atlantida", "municipality": "x"}),
    Case("company", with_fields(organization="Gorenjska reklama d.o.o., Kranj"),
         Status.REJECTED, ("not_eligible",)),
    Case("company, no dots", with_fields(organization="Kranj DOO"), Status.REJECTED,
         ("not_eligible",)),
    Case("sole trader", with_fields(organization="Komunikacije Ana Novak s.p."),
         Status.REJECTED, ("not_eligible",)),
    Case("joint-stock company", with_fields(organization="Komunala Kranj d.d."),
         Status.REJECTED, ("not_eligible",)),
    Case("ministry", with_fields(organization="Ministrstvo za javno upravo"), Status.REJECTED,
         ("not_eligible",)),
    Case("administrative unit", with_fields(organization="Upravna enota Kranj"),
         Status.REJECTED, ("not_eligible",)),
    Case("government office", with_fields(organization="Urad vlade za komuniciranje"),
         Status.REJECTED, ("not_eligible",)),
    Case("state agency", with_fields(organization="Agencija RS za okolje"), Status.REJECTED,
         ("not_eligible",)),
    Case("parliament", with_fields(organization="Državni zbor RS"), Status.REJECTED,
         ("not_eligible",)),
    Case("radio", with_fields(organization="Radio Kranj"), Status.REJECTED, ("not_eligible",)),
    Case("newspaper", with_fields(organization="Gorenjski glas, časopis za Gorenjsko"),
         Status.REJECTED, ("not_eligible",)),
    Case("public broadcaster", with_fields(organization="RTV Slovenija"), Status.REJECTED,
         ("not_eligible",)),
    Case("weekly", with_fields(organization="Tednik Panorama"), Status.REJECTED,
         ("not_eligible",)),
    Case("editorial office", with_fields(organization="Uredništvo Kranjskih novic"),
         Status.REJECTED, ("not_eligible",)),
    Case("Radovljica is no radio", with_fields(organization="Občina Radovljica"),
         Status.ACCEPTED, ()),
    Case("mayor of a public institution", {**ZAVOD, "role": "mayor"}, Status.NEEDS_REVIEW,
         ("role_mismatch",), {**ZAVOD_STORED, "role": "mayor"}),
    Case("director of a public institution", {**ZAVOD, "role": "director"}, Status.NEEDS_REVIEW,
         ("role_mismatch",)),
    Case("institution_pr in a municipality", with_fields(role="institution_pr"),
         Status.NEEDS_REVIEW, ("role_mismatch",)),
    Case("other employee fits both", {**ZAVOD, "role": "other_employee"}, Status.ACCEPTED, ()),
    Case("already a member", with_fields(email="Member@Celje.si"), Status.ACCEPTED, ("updated",),
         {**GOOD_STORED, "email": "member@celje.si"}),
    Case("several reasons, worst wins",
         with_fields(full_name=None, role="institution_pr", organization="Radio Kranj d.o.o."),
         Status.REJECTED, ("missing:full_name", "not_eligible", "role_mismatch")),
    Case("parser's unknown problem goes to review", GOOD, Status.NEEDS_REVIEW,
         ("ambiguous:role",), problems=("ambiguous:role",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_declaration_rules(case: Case) -> None:
    decision = decide(view(), [Declaration(dict(case.fields), case.problems, "izjava.pdf")], FACTS)
    assert (decision.status, decision.reasons) == (case.status, case.reasons)
    assert len(decision.declarations) == 1
    one = decision.declarations[0]
    assert (one.status, one.reasons, one.source) == (case.status, case.reasons, "izjava.pdf")
    if case.stored is not None:
        expected = {k: v for k, v in case.stored.items() if v != "x"}
        assert one.fields == expected
    assert decision.reply is True


def test_every_reason_code_has_its_status() -> None:
    table = {
        "missing:email": Status.INCOMPLETE,
        "no_declaration": Status.INCOMPLETE,
        "unreadable_attachment": Status.NEEDS_REVIEW,
        "unknown_municipality": Status.NEEDS_REVIEW,
        "role_mismatch": Status.NEEDS_REVIEW,
        "not_eligible": Status.REJECTED,
        "closed": Status.REJECTED,
        "updated": Status.ACCEPTED,
        "auto_submitted": Status.IGNORED,
        "not_application": Status.IGNORED,
        "internal_error": Status.NEEDS_REVIEW,
    }
    for reason, status in table.items():
        assert status_of(reason, "reject") == status, reason
    assert [status_of("late", p) for p in ("accept", "review", "reject")] == [
        Status.ACCEPTED, Status.NEEDS_REVIEW, Status.REJECTED,
    ]


def test_status_values_and_severity() -> None:
    assert [s.value for s in Status] == [
        "accepted", "needs_review", "incomplete", "rejected", "ignored",
    ]
    assert [s.value for s in SEVERITY] == [
        "ignored", "rejected", "incomplete", "needs_review", "accepted",
    ]
    assert worst([Status.ACCEPTED, Status.INCOMPLETE, Status.NEEDS_REVIEW]) == Status.INCOMPLETE
    assert worst([]) == Status.ACCEPTED
    assert status_for(["updated", "late"], "accept") == Status.ACCEPTED
    assert status_for(["updated", "late"], "review") == Status.NEEDS_REVIEW


def test_rules_are_named_and_described() -> None:
    named = [(r.name, r.description) for r in AUTO_RULES]
    named += [(r.name, r.description) for r in DECLARATION_RULES]
    for name, description in named:
        assert name and description and "\n" not in description
    assert len({r.name for r in AUTO_RULES}) == len(AUTO_RULES)
    assert len({r.name for r in DECLARATION_RULES}) == len(DECLARATION_RULES)


# --- deadline -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received_at", "policy", "status", "reasons"),
    [
        (datetime(2021, 2, 9, 23, 59, 59, tzinfo=LJ), "review", Status.ACCEPTED, ()),
        (datetime(2021, 2, 9, 23, 59, 59, 999999, tzinfo=LJ), "review", Status.ACCEPTED, ()),
        (datetime(2021, 2, 9, 22, 59, 59, tzinfo=UTC), "review", Status.ACCEPTED, ()),
        (datetime(2021, 2, 10, 0, 0, 0, tzinfo=LJ), "review", Status.NEEDS_REVIEW, ("late",)),
        (datetime(2021, 2, 9, 23, 0, 0, tzinfo=UTC), "review", Status.NEEDS_REVIEW, ("late",)),
        (datetime(2021, 2, 10, 0, 0, 0, tzinfo=LJ), "accept", Status.ACCEPTED, ("late",)),
        (datetime(2021, 2, 10, 0, 0, 0, tzinfo=LJ), "reject", Status.REJECTED, ("late",)),
        (datetime(2021, 2, 16, 16, 0, 0, tzinfo=LJ), "review", Status.NEEDS_REVIEW, ("late",)),
        (datetime(2021, 2, 16, 16, 0, 0, tzinfo=LJ), "accept", Status.ACCEPTED, ("late",)),
        (datetime(2021, 2, 16, 16, 0, 1, tzinfo=LJ), "review", Status.REJECTED, ("closed",)),
        (datetime(2021, 2, 16, 16, 0, 1, tzinfo=LJ), "accept", Status.REJECTED, ("closed",)),
        (datetime(2021, 3, 1, tzinfo=LJ), "accept", Status.REJECTED, ("closed",)),
    ],
)
def test_deadline(received_at: datetime, policy: LatePolicy, status: Status,
                  reasons: tuple[str, ...]) -> None:
    campaign = replace(CAMPAIGN, late_policy=policy)
    facts = replace(FACTS, received_at=received_at, campaign=campaign)
    decision = decide(view(), [Declaration(dict(GOOD))], facts)
    assert (decision.status, decision.reasons) == (status, reasons)


def test_too_early() -> None:
    assert too_early(datetime(2021, 1, 29, 15, 59, 59, tzinfo=LJ), CAMPAIGN) is True
    assert too_early(datetime(2021, 1, 29, 16, 0, 0, tzinfo=LJ), CAMPAIGN) is False
    assert too_early(datetime(2021, 1, 29, 15, 0, 0, tzinfo=UTC), CAMPAIGN) is False


def test_late_and_updated_together() -> None:
    facts = replace(FACTS, received_at=datetime(2021, 2, 12, tzinfo=LJ))
    decision = decide(view(), [Declaration(with_fields(email="member@celje.si"))], facts)
    assert (decision.status, decision.reasons) == (Status.NEEDS_REVIEW, ("late", "updated"))


# --- whole messages -----------------------------------------------------------------------


def test_two_declarations_same_address_later_wins() -> None:
    first = with_fields(job_title="prva")
    second = with_fields(job_title="druga", email="ana.novak@kranj.si")
    decision = decide(view(), [Declaration(first), Declaration(second)], FACTS)
    assert decision.status == Status.ACCEPTED
    assert decision.reasons == ("updated",)
    assert [(d.reasons, d.fields["job_title"]) for d in decision.declarations] == [
        ((), "prva"), (("updated",), "druga"),
    ]
    assert "nadomesti prejšnjo izjavo" in decision.declarations[1].notes[0]


def test_message_status_is_worst_and_reasons_union() -> None:
    declarations = [
        Declaration(dict(GOOD)),
        Declaration(with_fields(email="b@kranj.si", consent=False)),
        Declaration(with_fields(email="c@kranj.si", role="institution_pr", consent=False)),
    ]
    decision = decide(view(), declarations, FACTS)
    assert decision.status == Status.INCOMPLETE
    assert decision.reasons == ("missing:consent", "role_mismatch")
    assert [d.status for d in decision.declarations] == [
        Status.ACCEPTED, Status.INCOMPLETE, Status.INCOMPLETE,
    ]


def test_declaration_beside_an_unreadable_attachment() -> None:
    decision = decide(view(), [Declaration(dict(GOOD)), UNREADABLE], FACTS)
    assert (decision.status, decision.reasons) == (
        Status.NEEDS_REVIEW, ("unreadable_attachment",),
    )
    assert decision.declarations[1] == DeclarationDecision(
        Status.NEEDS_REVIEW, ("unreadable_attachment",), {}, "scan.pdf", ("a scan without text",)
    )


JOINING = view(subject="Pristop k mreži komunikatorjev", body="Prijavljam se. Lp, Ana")


@pytest.mark.parametrize(
    ("message", "declarations", "received_at", "status", "reasons"),
    [
        (JOINING, [], ON_TIME, Status.INCOMPLETE, ("no_declaration",)),
        (JOINING, [Declaration({}, ("no_declaration",))], ON_TIME, Status.INCOMPLETE,
         ("no_declaration",)),
        (JOINING, [UNREADABLE], ON_TIME, Status.NEEDS_REVIEW, ("unreadable_attachment",)),
        (JOINING, [], datetime(2021, 2, 12, tzinfo=LJ), Status.INCOMPLETE,
         ("no_declaration", "late")),
        (JOINING, [], datetime(2021, 2, 17, tzinfo=LJ), Status.REJECTED,
         ("no_declaration", "closed")),
        (JOINING, [UNREADABLE], datetime(2021, 2, 17, tzinfo=LJ), Status.REJECTED,
         ("unreadable_attachment", "closed")),
        (view(subject="izjava", body="V prilogi izjava o pristopu."), [], ON_TIME,
         Status.INCOMPLETE, ("no_declaration",)),
        (view(subject="Izjava", body="", attachments=(
            Attachment("izjava_o_pristopu.pdf", "application/pdf", b""),)), [UNREADABLE],
         ON_TIME, Status.NEEDS_REVIEW, ("unreadable_attachment",)),
        (view(subject="Fwd: prijava", body="", forwarded_bodies=(
            "Želimo pristopiti k mreži komunikatorjev.",)), [], ON_TIME, Status.INCOMPLETE,
         ("no_declaration",)),
        # not applications
        (view(subject="Sestanek jutri", body="Metka, se vidimo ob 10h. Lp, Jože"), [], ON_TIME,
         Status.IGNORED, ("not_application",)),
        (view(subject="Novičnik SOS, februar", body="Novice iz občin: komunikatorji ..."), [],
         ON_TIME, Status.IGNORED, ("not_application",)),
        (view(subject="Račun št. 2021-0042", body="V prilogi račun za januar."),
         [UNREADABLE], ON_TIME, Status.IGNORED, ("not_application",)),
        (view(subject="Račun št. 2021-0042", body="V prilogi račun za januar."),
         [Declaration({}, ("no_declaration",), "racun.pdf")], ON_TIME, Status.IGNORED,
         ("not_application",)),
        (view(subject="Prijava na seminar", body="Prijavljam se na seminar o komuniciranju."),
         [], ON_TIME, Status.IGNORED, ("not_application",)),
        (view(subject="Mreža županov", body="Vabilo na srečanje mreže."), [], ON_TIME,
         Status.IGNORED, ("not_application",)),
        # a declaration found makes an application whatever the subject
        (view(subject="", body=""), [Declaration(dict(GOOD), (), "body")], ON_TIME,
         Status.ACCEPTED, ()),
        (view(subject="", body=""), [Declaration({"consent": False})], ON_TIME,
         Status.INCOMPLETE, ("missing:full_name", "missing:job_title", "missing:email",
                             "missing:organization_type", "missing:organization",
                             "missing:role", "missing:consent")),
    ],
)
def test_messages_without_a_usable_declaration(
    message: MessageView, declarations: list[Declaration], received_at: datetime,
    status: Status, reasons: tuple[str, ...],
) -> None:
    decision = decide(message, declarations, replace(FACTS, received_at=received_at))
    assert (decision.status, decision.reasons) == (status, reasons)
    assert decision.reply is (status != Status.IGNORED)
    if not any(d.fields for d in declarations):
        assert [d.fields for d in decision.declarations] == [{}]


def test_is_application() -> None:
    assert is_application(JOINING, []) is True
    assert is_application(view(subject="x", body="y"), [UNREADABLE]) is False
    assert is_application(view(subject="x", body="y"), [Declaration({"consent": False})]) is True
    assert is_application(view(subject="Mreža komunikatorjev", body=""), [],
                          keywords=[("zzz",)]) is False


# --- automatic mail -----------------------------------------------------------------------


AUTO_CASES = [
    ({"Auto-Submitted": "auto-replied"}, {}, "auto-submitted (Auto-Submitted: auto-replied)"),
    ({"Auto-Submitted": "auto-generated; owner-email=x@y.si"}, {}, "auto-submitted"),
    ({"Precedence": "bulk"}, {}, "precedence (Precedence: bulk)"),
    ({"Precedence": "Junk"}, {}, "precedence"),
    ({"Precedence": "list"}, {}, "precedence"),
    ({"Precedence": "auto_reply"}, {}, "precedence"),
    ({"X-Auto-Response-Suppress": "All"}, {}, "auto-response-suppress"),
    ({"X-Auto-Response-Suppress": "DR, RN, NRN, OOF, AutoReply"}, {}, "auto-response-suppress"),
    ({"X-Auto-Response-Suppress": "oof"}, {}, "auto-response-suppress"),
    ({"List-Id": "<obvestila.sos.si>"}, {}, "list-id"),
    ({"List-Unsubscribe": "<mailto:leave@lists.si>"}, {}, "list-unsubscribe"),
    ({"X-Loop": "helpdesk@kranj.si"}, {}, "x-loop"),
    ({"Return-Path": "<>"}, {}, "null-return-path (Return-Path: <>)"),
    ({"Return-Path": "< >"}, {}, "null-return-path"),
    ({}, {"sender": "mailer-daemon@mx.kranj.si"},
     "robot-sender (sender mailer-daemon@mx.kranj.si)"),
    ({}, {"sender": "postmaster@kranj.si"}, "robot-sender"),
    ({}, {"sender": "noreply@kranj.si"}, "robot-sender"),
    ({}, {"sender": "no-reply@kranj.si"}, "robot-sender"),
    ({}, {"sender": "do-not-reply@kranj.si"}, "robot-sender"),
    ({}, {"sender": "noreply-obvestila@kranj.si"}, "robot-sender"),
    ({}, {"sender": "no_reply@kranj.si"}, "robot-sender"),
    ({}, {"sender": "bounces+12345@lists.kranj.si"}, "robot-sender"),
    ({}, {"subject": "Samodejni odgovor: Izjava o pristopu k mreži"}, "autoreply-subject"),
    ({}, {"subject": "Automatic reply: Izjava o pristopu"}, "autoreply-subject"),
    ({}, {"subject": "Auto: Izjava o pristopu k mreži komunikatorjev"}, "autoreply-subject"),
    ({}, {"subject": "Odsotnost: Izjava o pristopu"}, "autoreply-subject"),
    ({}, {"subject": "Out of Office: Izjava"}, "autoreply-subject"),
    ({}, {"subject": "Odsotnost z dela: Izjava o pristopu"}, "autoreply-subject"),
    ({}, {"subject": "Automatski odgovor: Izjava o pristopu"}, "autoreply-subject"),
    ({}, {"subject": "Abwesend: Izjava"}, "autoreply-subject"),
    ({}, {"subject": "[Auto-Reply] Izjava o pristopu"}, "autoreply-subject"),
    ({}, {"content_type": "multipart/report"}, "report"),
    ({"X-Failed-Recipients": "nobody@kranj.si"}, {}, "failed-recipients"),
    ({"X-Autoreply": "yes"}, {}, "x-autoreply"),
    ({"X-Autorespond": "Odsotnost"}, {}, "x-autorespond"),
    ({}, {"sender": "metka.lasic@skupnostobcin.si"}, "our-own (sent from our address"),
    ({}, {"message_id": "<reply-17@SkupnostObcin.si>"}, "our-own (Message-ID of our domain"),
]


@pytest.mark.parametrize(("headers", "attributes", "expected"), AUTO_CASES)
def test_each_auto_submitted_rule_alone(
    headers: dict[str, str], attributes: dict[str, str], expected: str,
) -> None:
    message = replace(view(headers=headers), **attributes)  # type: ignore[arg-type]
    reason = auto_submitted_reason(message, CAMPAIGN)
    assert reason is not None and reason.startswith(expected)
    decision = decide(message, [Declaration(dict(GOOD))], FACTS)
    assert (decision.status, decision.reasons, decision.reply) == (
        Status.IGNORED, ("auto_submitted",), False,
    )
    assert decision.detail == reason
    assert [d.fields for d in decision.declarations] == [{}]


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "no"},
        {"Auto-Submitted": "No"},
        {"Precedence": "normal"},
        {"X-Auto-Response-Suppress": "RN, NRN"},
        {"X-Autoreply": "no"},
        {"Return-Path": "<ana.novak@kranj.si>"},
        {"X-Mailer": "Microsoft Outlook 16.0"},
    ],
)
def test_not_automatic(headers: dict[str, str]) -> None:
    message = view(headers=headers)
    assert auto_submitted_reason(message, CAMPAIGN) is None
    assert decide(message, [Declaration(dict(GOOD))], FACTS).status == Status.ACCEPTED


@pytest.mark.parametrize(
    ("sender", "subject"),
    [
        ("ana.noreplyova@kranj.si", "Izjava o pristopu"),
        ("bouncek@kranj.si", "Izjava o pristopu"),
        ("ana.novak@kranj.si", "Izjava o pristopu: avtomatsko izpolnjena"),
        ("ana.novak@kranj.si", "Re: Samodejni odgovor ni prišel"),
        ("ana.novak@kranj.si", "Automobili: izjava"),
    ],
)
def test_a_person_whose_name_or_subject_only_looks_automatic(sender: str, subject: str) -> None:
    message = replace(view(), sender=sender, subject=subject)
    assert auto_submitted_reason(message, CAMPAIGN) is None
    assert decide(message, [Declaration(dict(GOOD))], FACTS).status == Status.ACCEPTED


def test_auto_submitted_without_campaign_ignores_only_identity() -> None:
    assert auto_submitted_reason(view(sender="metka.lasic@skupnostobcin.si")) is None
    assert auto_submitted_reason(view(headers={"Precedence": "bulk"})) == (
        "precedence (Precedence: bulk)"
    )


def test_real_out_of_office_message_is_ignored() -> None:
    raw = build(
        subject="Samodejni odgovor: Izjava o pristopu k mreži komunikatorjev",
        body="Do 15. 2. sem odsotna.",
        headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    )
    decision = decide(read_message(raw), [], FACTS)
    assert (decision.status, decision.reasons) == (Status.IGNORED, ("auto_submitted",))


def test_real_application_read_from_bytes() -> None:
    raw = build(attachments=[("izjava.pdf", "application/pdf", b"%PDF-1.4")])
    declaration = Declaration(dict(GOOD), (), "izjava.pdf", extra={"kind": "pdf-acroform"})
    decision = decide(read_message(raw), [declaration], FACTS)
    assert decision == MessageDecision(
        Status.ACCEPTED, (), (DeclarationDecision(Status.ACCEPTED, (), GOOD_STORED, "izjava.pdf"),)
    )


# --- never raises -------------------------------------------------------------------------


def test_unexpected_error_is_internal_error() -> None:
    naive = replace(FACTS, received_at=datetime(2021, 2, 3, 10, 0))  # cannot compare: a bug
    decision = decide(view(), [Declaration(dict(GOOD))], naive)
    assert (decision.status, decision.reasons, decision.reply) == (
        Status.NEEDS_REVIEW, ("internal_error",), True,
    )
    assert decision.detail.startswith("TypeError")


_TEXT = st.text(max_size=40) | st.sampled_from(
    ["Mestna občina Kranj", "Javni zavod Cerkno", "Radio d.o.o.", "", "obcina", "javni_zavod",
     "mayor", "institution_pr", "member@celje.si", "Izjava o pristopu k mreži komunikatorjev"]
)
_VALUE = _TEXT | st.booleans() | st.lists(_TEXT, max_size=3)
_FIELDS = st.dictionaries(st.sampled_from([f.name for f in FIELDS]), _VALUE, max_size=14)
_DECLARATION = st.builds(
    Declaration,
    fields=_FIELDS,
    problems=st.lists(st.sampled_from(["missing:email", "unreadable_attachment",
                                       "no_declaration", "weird"]), max_size=2).map(tuple),
    source=_TEXT,
)
_HEADERS = st.dictionaries(
    st.sampled_from(["auto-submitted", "precedence", "x-auto-response-suppress", "list-id",
                     "return-path", "x-loop", "subject"]),
    st.lists(_TEXT, min_size=1, max_size=2).map(tuple),
    max_size=3,
)
_VIEW = st.builds(
    MessageView,
    message_id=st.none() | _TEXT,
    subject=_TEXT,
    sender=_TEXT,
    headers=_HEADERS,
    content_type=st.sampled_from(["text/plain", "multipart/report", "multipart/mixed"]),
    body_text=_TEXT,
)
_WHEN = st.datetimes(
    min_value=datetime(2021, 1, 1), max_value=datetime(2021, 3, 1), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_VIEW, st.lists(_DECLARATION, max_size=3), _WHEN,
       st.sampled_from(["accept", "review", "reject"]))
def test_decide_never_raises(
    message: MessageView, declarations: list[Declaration], when: datetime, policy: LatePolicy,
) -> None:
    campaign = replace(CAMPAIGN, late_policy=policy)
    facts = replace(FACTS, received_at=when + timedelta(0), campaign=campaign)
    decision = decide(message, declarations, facts)
    assert "internal_error" not in decision.reasons, decision.detail
    assert decision.declarations
    assert decision.status == worst(d.status for d in decision.declarations)
    for one in decision.declarations:
        assert one.status == status_for(one.reasons, policy)


def test_a_word_that_merely_contains_a_stem_does_not_make_an_application() -> None:
    """'omrežja' (social networks) contains 'mrez' but is not the network: an invitation to
    a seminar on social networks for communicators must get no reply."""
    from intake.decide import DEFAULT_APPLICATION_KEYWORDS, speaks_of_joining
    from intake.reading import read_message

    seminar = read_message(build(subject="Vabilo: družbena omrežja za komunikatorje",
                                 body="Vabimo vas na seminar o družbenih omrežjih."))
    joining = read_message(build(subject="Pristop k Mreži komunikatorjev",
                                 body="Pozdravljeni, rada bi se pridružila."))
    assert not speaks_of_joining(seminar, DEFAULT_APPLICATION_KEYWORDS)
    assert speaks_of_joining(joining, DEFAULT_APPLICATION_KEYWORDS)


def test_a_thank_you_to_our_reply_is_not_asked_for_the_form_again() -> None:
    """GIVEN an applicant's "Hvala!" in answer to our automatic reply (no declaration)
    THEN it is left to the coordinator (ignored, no reply); the same answer carrying the
    corrected declaration is an application as usual."""
    from intake.reading import read_message
    from parsers.model import Declaration

    ours = "<intake.0123abcd@intake.skupnostobcin.si>"
    campaign = replace(CAMPAIGN, our_domains=frozenset({"intake.skupnostobcin.si"}))
    facts = replace(FACTS, campaign=campaign)
    thanks = read_message(build(subject="Re: Izjava o pristopu k mreži komunikatorjev",
                                body="Hvala!", headers={"In-Reply-To": ours,
                                                        "References": ours}))
    decision = decide(thanks, [], facts)
    assert (decision.status, decision.reasons) == (Status.IGNORED, ("not_application",))
    corrected = Declaration(dict(GOOD), ())
    assert decide(thanks, [corrected], facts).status == Status.ACCEPTED
