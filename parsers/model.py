"""The join declaration as fixed by spec/declaration.md: fields, labels, choices, problems.

Everything that reads or writes a declaration (the parsers, the official blank forms, the
fixture builders, the pipeline) takes its names from here, so a label is spelled once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

TITLE = "IZJAVA O PRISTOPU K MREŽI KOMUNIKATORJEV V OBČINAH IN OBČINSKIH JAVNIH ZAVODIH"

CONSENT_TEXT = (
    "Soglašam, da Skupnost občin Slovenije moje osebne podatke obdeluje za namen delovanja "
    "mreže komunikatorjev."
)

FieldKind = Literal["text", "email", "choice", "set", "checkbox"]

# A parsed value: text and choices are str, interests a list of values in spec order,
# consent a bool.
FieldValue = str | bool | list[str]
Fields = dict[str, FieldValue]


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    acroform: str | None = None  # the checkbox name, for the interests set


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    acroform: str
    kind: FieldKind
    required: bool
    choices: tuple[Choice, ...] = ()


ORGANIZATION_TYPES = (
    Choice("obcina", "občina"),
    Choice("javni_zavod", "javni zavod občine"),
)

ROLES = (
    Choice("pr_staff", "strokovni sodelavec / strokovna sodelavka za stike z javnostmi v občini"),
    Choice("director", "direktor / direktorica občinske uprave"),
    Choice("mayor", "župan / županja, ki stike z javnostmi opravlja sam / sama"),
    Choice(
        "institution_pr",
        "zaposleni / zaposlena v javnem zavodu občine, ki opravlja naloge stikov z javnostmi",
    ),
    Choice(
        "other_employee",
        "drug zaposleni / druga zaposlena v občinski upravi ali javnem zavodu občine, "
        "ki ga / jo zanima področje stikov z javnostmi",
    ),
)

EXPERIENCE = (
    Choice("beginner", "začetnik / začetnica"),
    Choice("experienced", "izkušen / izkušena"),
)

INTERESTS = (
    Choice("media_relations", "odnosi z mediji", "interes_mediji"),
    Choice("social_media", "družbena omrežja", "interes_omrezja"),
    Choice("crisis", "krizno komuniciranje", "interes_krizno"),
    Choice("writing", "pisanje besedil in sporočil za javnost", "interes_pisanje"),
    Choice("web", "spletne strani in digitalna orodja", "interes_splet"),
    Choice("public_speaking", "javno nastopanje", "interes_nastopanje"),
    Choice("internal", "interno komuniciranje", "interes_interno"),
    Choice("other", "drugo", "interes_drugo"),
)

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("full_name", "Ime in priimek", "ime_priimek", "text", True),
    FieldSpec("job_title", "Delovno mesto / funkcija", "delovno_mesto", "text", True),
    FieldSpec("email", "E-naslov", "e_naslov", "email", True),
    FieldSpec("phone", "Telefon", "telefon", "text", False),
    FieldSpec(
        "organization_type", "Vrsta organizacije", "vrsta_organizacije", "choice", True,
        ORGANIZATION_TYPES,
    ),
    FieldSpec("organization", "Naziv organizacije", "naziv_organizacije", "text", True),
    # Required only for javni_zavod: see required_fields().
    FieldSpec("municipality", "Občina (ustanoviteljica javnega zavoda)", "obcina", "text", False),
    FieldSpec("address", "Naslov organizacije", "naslov", "text", False),
    FieldSpec("role", "Vloga pri stikih z javnostmi", "vloga", "choice", True, ROLES),
    FieldSpec(
        "experience", "Izkušnje na področju komuniciranja", "izkusnje", "choice", False,
        EXPERIENCE,
    ),
    FieldSpec(
        "interests", "Področja, na katerih želim nadgraditi znanje", "interes_*", "set", False,
        INTERESTS,
    ),
    FieldSpec("interests_other", "drugo", "interes_drugo_besedilo", "text", False),
    FieldSpec("consent", "Soglasje", "soglasje", "checkbox", True),
    FieldSpec("place_date", "Kraj in datum", "kraj_datum", "text", False),
)

FIELDS_BY_NAME: Mapping[str, FieldSpec] = {spec.name: spec for spec in FIELDS}

# Problem codes a parser may report; they are also reason codes of spec/interface.md.
MISSING = "missing:"  # followed by the field's machine name
UNREADABLE_ATTACHMENT = "unreadable_attachment"
NO_DECLARATION = "no_declaration"


def required_fields(fields: Mapping[str, FieldValue]) -> tuple[str, ...]:
    """The machine names that must be present, given what was filled in."""
    names = [spec.name for spec in FIELDS if spec.required]
    if fields.get("organization_type") == "javni_zavod":
        names.insert(names.index("organization") + 1, "municipality")
    return tuple(names)


def missing_problems(fields: Mapping[str, FieldValue]) -> tuple[str, ...]:
    """`missing:FIELD` for every required field that is empty (consent: not given)."""
    return tuple(
        MISSING + name
        for name in required_fields(fields)
        if fields.get(name) in (None, "", False, [])
    )


@dataclass(frozen=True)
class Declaration:
    """One declaration found in one document or body, or the reason none could be read.

    `fields` holds only what was found, under the machine names of FIELDS, except `consent`,
    which is always present once a declaration is recognised (False when not given).
    A document that could not be read at all is a Declaration with empty `fields`,
    problems `("unreadable_attachment",)` and a human-readable `detail`.
    """

    fields: Fields
    problems: tuple[str, ...] = ()
    source: str = ""  # "body", or the attachment's (sanitised) file name
    detail: str = ""  # why, in words a coordinator understands, for the problems
    extra: dict[str, str] = field(default_factory=dict)  # e.g. {"kind": "pdf-acroform"}
