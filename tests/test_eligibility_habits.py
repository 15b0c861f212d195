"""Eligibility, municipality and role of realistic declarations: one case per habit.

How people name their organisation on the form: a municipality's department or newsletter,
a joint administration of several municipalities, an institution founded by two, a mayor's
office as "MOL", state bodies and state-founded institutions that carry a town's name, public
companies and societies. tests/test_decide.py covers the rules themselves; these are the
names a coordinator met in the inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest

from intake.decide import Campaign, DeclarationDecision, Facts, Status, decide
from intake.municipalities import Municipalities, Municipality, load_municipalities
from intake.reading import MessageView
from parsers.model import Declaration, FieldValue

LJ = ZoneInfo("Europe/Ljubljana")
MUNICIPALITIES = load_municipalities()
FACTS = Facts(
    received_at=datetime(2021, 2, 3, 10, 12, tzinfo=LJ),
    campaign=Campaign(
        opens=datetime(2021, 1, 29, 16, 0, tzinfo=LJ),
        deadline=datetime(2021, 2, 9, 23, 59, 59, tzinfo=LJ),
        closes=datetime(2021, 2, 16, 16, 0, tzinfo=LJ),
    ),
    municipalities=MUNICIPALITIES,
)
VIEW = MessageView(
    subject="Izjava o pristopu",
    body_text="V prilogi pošiljam izjavo.",
    sender="ana.novak@example.si",
    headers=MappingProxyType({}),
    message_id="<1@example.si>",
)


def judge(kind: str, organization: str, role: str = "",
          municipality: str = "") -> DeclarationDecision:
    fields: dict[str, FieldValue] = {
        "full_name": "Ana Novak",
        "job_title": "svetovalka za odnose z javnostmi",
        "email": "ana.novak@example.si",
        "organization_type": kind,
        "organization": organization,
        "role": role or ("pr_staff" if kind == "obcina" else "institution_pr"),
        "consent": True,
    }
    if municipality:
        fields["municipality"] = municipality
    decision = decide(VIEW, [Declaration(fields, (), "izjava.pdf")], FACTS)
    assert len(decision.declarations) == 1
    return decision.declarations[0]


@dataclass(frozen=True)
class Habit:
    name: str
    kind: str
    organization: str
    status: Status
    reasons: tuple[str, ...]
    municipality: str | None  # the stored (matched) municipality; None: none stored
    given: str = ""  # what the applicant wrote in the municipality field
    role: str = ""


REJECTED = Status.REJECTED
ACCEPTED = Status.ACCEPTED
REVIEW = Status.NEEDS_REVIEW
NOT_ELIGIBLE = ("not_eligible",)

HABITS = [
    # A mayor's office written with the capital-letter acronym of the municipality.
    Habit("mayor's office as MOL", "obcina", "Kabinet župana MOL", ACCEPTED, (), "Ljubljana"),
    # A long name that is no municipality must not be "forgiven" into one by a spelling
    # tolerance that counted a too-distant name as a tie.
    Habit("department after a comma is not misread as another municipality", "obcina",
          "Občina Kranj, Služba za odnose z javnostmi, radio", ACCEPTED, (), "Kranj"),
    # The municipality's own newsletter: its editor is a municipal employee, not a medium.
    Habit("municipal newsletter editor", "obcina", "Občina Bled, uredništvo Blejskih novic",
          ACCEPTED, (), "Bled"),
    # Several founders, or a joint administration: all of them municipalities.
    Habit("two founders in the locative-free dual", "javni_zavod", "Zavod za turizem",
          ACCEPTED, (), "Kranj", given="Občini Kranj in Naklo"),
    Habit("founders as a list", "javni_zavod", "Zavod za turizem", ACCEPTED, (), "Kranj",
          given="Mestna občina Kranj, Občina Naklo"),
    Habit("joint municipal administration", "obcina",
          "Skupna občinska uprava občin Kranj in Naklo", ACCEPTED, (), "Kranj"),
    Habit("inter-municipal administration of three", "obcina",
          "Medobčinska uprava občin Slovenske Konjice, Vitanje in Zreče", ACCEPTED, (),
          "Slovenske Konjice"),
    # State bodies.
    Habit("employment service, abbreviated", "javni_zavod", "Zavod RS za zaposlovanje",
          REJECTED, ("missing:municipality", "not_eligible"), None),
    Habit("employment service, regional office with a town", "javni_zavod",
          "Zavod RS za zaposlovanje, Območna služba Kranj", REJECTED, NOT_ELIGIBLE, "Kranj"),
    Habit("state body, Republike Slovenije written out", "javni_zavod",
          "Statistični urad Republike Slovenije", REJECTED,
          ("missing:municipality", "not_eligible"), None),
    Habit("police", "javni_zavod", "Policijska uprava Kranj", REJECTED, NOT_ELIGIBLE, "Kranj"),
    Habit("court", "javni_zavod", "Okrajno sodišče v Kranju", REJECTED, NOT_ELIGIBLE, "Kranj"),
    # Public institutions the state founds: the town in the name is a seat, not a founder.
    Habit("social work centre", "javni_zavod", "Center za socialno delo Celje", REJECTED,
          NOT_ELIGIBLE, "Celje"),
    Habit("social work centre, founder claimed", "javni_zavod",
          "Center za socialno delo Celje", REJECTED, NOT_ELIGIBLE, "Celje", given="Celje"),
    Habit("grammar school", "javni_zavod", "Gimnazija Kranj", REJECTED, NOT_ELIGIBLE, "Kranj"),
    Habit("secondary school", "javni_zavod", "Srednja gradbena šola Kranj", REJECTED,
          NOT_ELIGIBLE, "Kranj"),
    Habit("general hospital", "javni_zavod", "Splošna bolnišnica Celje", REJECTED,
          NOT_ELIGIBLE, "Celje"),
    Habit("national institution", "javni_zavod", "Zavod za gozdove Slovenije, OE Kranj",
          REJECTED, NOT_ELIGIBLE, "Kranj"),
    # Public companies: owned by municipalities, but companies, not public institutions.
    Habit("public company without d.o.o.", "javni_zavod", "Javno podjetje Komunala Kranj",
          REJECTED, NOT_ELIGIBLE, "Kranj"),
    Habit("public company abbreviated", "javni_zavod", "JP Komunala Kranj", REJECTED,
          NOT_ELIGIBLE, "Kranj"),
    # Societies.
    Habit("tourist society ticked as a municipality", "obcina", "Turistično društvo Bled",
          REJECTED, NOT_ELIGIBLE, "Bled"),
    # A director or mayor who names an institution directs the institution.
    Habit("institution's director ticks obcina", "obcina", "Zavod za turizem Bled", REVIEW,
          ("role_mismatch",), "Bled", role="director"),
    Habit("mayor with a public institution's name", "obcina", "Ljudska univerza Kranj", REVIEW,
          ("role_mismatch",), "Kranj", role="mayor"),
]


@pytest.mark.parametrize("habit", HABITS, ids=[h.name for h in HABITS])
def test_habit(habit: Habit) -> None:
    one = judge(habit.kind, habit.organization, habit.role, habit.given)
    assert (one.status, one.reasons) == (habit.status, habit.reasons)
    assert one.fields.get("municipality") == habit.municipality


# Names that look like the patterns above but are municipal: they must stay accepted.
STAYS_MUNICIPAL = [
    ("obcina", "Mestna občina Kranj, Oddelek za družbene dejavnosti, društva", "Kranj"),
    ("obcina", "Mestna občina Ljubljana, Oddelek za kulturo", "Ljubljana"),
    ("obcina", "MESTNA OBCINA LJUBLJANA, ODDELEK ZA KULTURO", "Ljubljana"),
    ("obcina", "Občinska uprava Občine Bled", "Bled"),
    ("javni_zavod", "Ljudska univerza Kranj", "Kranj"),
    ("javni_zavod", "Glasbena šola Kranj", "Kranj"),
    ("javni_zavod", "OŠ Franceta Prešerna Kranj", "Kranj"),
    ("javni_zavod", "Zdravstveni dom Ljutomer", "Ljutomer"),
    ("javni_zavod", "Knjižnica Ivana Potrča Ptuj", "Ptuj"),
    ("javni_zavod", "Zavod za turizem Maribor-Pohorje", "Maribor"),
    ("javni_zavod", "KNJIZNICA IVANA POTRCA PTUJ", "Ptuj"),
]


@pytest.mark.parametrize(("kind", "organization", "municipality"), STAYS_MUNICIPAL)
def test_municipal_names_stay_accepted(kind: str, organization: str,
                                       municipality: str) -> None:
    one = judge(kind, organization)
    assert (one.status, one.reasons, one.fields.get("municipality")) == (
        ACCEPTED, (), municipality)


def test_several_founders_are_noted_for_the_coordinator() -> None:
    one = judge("javni_zavod", "Zavod za turizem", municipality="Občini Kranj in Naklo")
    assert one.fields["municipality"] == "Kranj"
    assert one.notes == ("navedenih je več občin (Kranj, Naklo); shranjena je prva",)


def test_two_municipalities_in_an_institution_name_are_still_not_guessed() -> None:
    # Only the founder field or a joint administration's name lists founders; "Zavod Ptuj
    # in Kranj" may be anything, and a javni_zavod without a founder is asked for one.
    one = judge("javni_zavod", "Zavod Ptuj in Kranj")
    assert (one.status, one.reasons) == (Status.INCOMPLETE, ("missing:municipality",))
    assert "municipality" not in one.fields


def test_state_rejection_says_why() -> None:
    one = judge("javni_zavod", "Gimnazija Kranj")
    assert one.notes == ("»Gimnazija Kranj« je javni zavod, ki ga ustanovi država",)
    company = judge("javni_zavod", "JP Komunala Kranj")
    assert company.notes == (
        "»JP Komunala Kranj« je javno podjetje (gospodarska družba, ne javni zavod)",)


def test_acronym_counts_only_in_capitals() -> None:
    found = MUNICIPALITIES.find_in("Kabinet župana MOL")
    assert found is not None and found.name == "Ljubljana"
    assert MUNICIPALITIES.find_in("Kabinet župana mol") is None
    assert [m.name for m in MUNICIPALITIES.find_all("Občini Kranj in Naklo")] == [
        "Kranj", "Naklo"]


def test_a_name_too_far_from_every_municipality_matches_none() -> None:
    # "Brod" is two edits from "Bled", one more than a short name may differ by.
    rows = [Municipality(3, "Bled", "Občina Bled", False)]
    assert Municipalities(rows).match("Brod") is None
    assert MUNICIPALITIES.match("Občina Kranj, Služba za odnose z javnostmi, radio") is None
