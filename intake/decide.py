"""Deciding what becomes of one received message: the pure heart of the pipeline.

`decide(view, declarations, facts)` reads nothing but its arguments: the orchestrator looks
up the clock (the server's receive time), the campaign, the municipality list and the known
members, and passes them in as `Facts`. Rules only append reason codes; the status is taken
once, after all of them, as the worst status any reason leads to (spec/interface.md):

    ignored  <  rejected  <  incomplete  <  needs_review  <  accepted
    (worst)                                                  (best)

The steps, in order:

1. `too_early` - the orchestrator's own check: a message received before the call opened is
   not looked at at all (no decision, no reply), so `decide` never sees it.
2. automatic mail (`AUTO_RULES`, RFC 3834 and what help desks learned since) -> ignored,
   `auto_submitted`.
3. not an application (`is_application`) -> ignored, `not_application`; the coordinator's
   mailbox is her own, and ordinary mail must be left alone. So are an answer to our reply
   that holds no declaration but the quoted one (`answers_us`, `only_quoted`), and a
   colleague's mail without a declaration (`from_colleague`).
4. speaks of joining but holds no readable declaration -> incomplete, `no_declaration`
   (needs_review, `unreadable_attachment`, when an attachment could not be read).
5. each declaration found: `DECLARATION_RULES` (missing fields, eligibility, municipality,
   role, deadline, update of a member).
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from intake.municipalities import Municipalities, Municipality, fold
from intake.reading import MessageView
from parsers.body import own_text
from parsers.model import (
    MISSING,
    NO_DECLARATION,
    UNREADABLE_ATTACHMENT,
    Declaration,
    Fields,
    FieldValue,
    missing_problems,
)
from parsers.text import read_items


class Status(StrEnum):
    ACCEPTED = "accepted"
    NEEDS_REVIEW = "needs_review"
    INCOMPLETE = "incomplete"
    REJECTED = "rejected"
    IGNORED = "ignored"


# Worst first: the first of these that any reason leads to is the status.
SEVERITY: tuple[Status, ...] = (
    Status.IGNORED,
    Status.REJECTED,
    Status.INCOMPLETE,
    Status.NEEDS_REVIEW,
    Status.ACCEPTED,
)

UNKNOWN_MUNICIPALITY = "unknown_municipality"
ROLE_MISMATCH = "role_mismatch"
NOT_ELIGIBLE = "not_eligible"
LATE = "late"
CLOSED = "closed"
UPDATED = "updated"
AUTO_SUBMITTED = "auto_submitted"
NOT_APPLICATION = "not_application"
INTERNAL_ERROR = "internal_error"

LatePolicy = Literal["accept", "review", "reject"]
LATE_POLICIES: tuple[LatePolicy, ...] = ("accept", "review", "reject")

_STATUS_OF: Mapping[str, Status] = {
    NO_DECLARATION: Status.INCOMPLETE,
    UNREADABLE_ATTACHMENT: Status.NEEDS_REVIEW,
    UNKNOWN_MUNICIPALITY: Status.NEEDS_REVIEW,
    ROLE_MISMATCH: Status.NEEDS_REVIEW,
    NOT_ELIGIBLE: Status.REJECTED,
    CLOSED: Status.REJECTED,
    UPDATED: Status.ACCEPTED,
    AUTO_SUBMITTED: Status.IGNORED,
    NOT_APPLICATION: Status.IGNORED,
    INTERNAL_ERROR: Status.NEEDS_REVIEW,
}
_LATE_STATUS: Mapping[str, Status] = {
    "accept": Status.ACCEPTED,
    "review": Status.NEEDS_REVIEW,
    "reject": Status.REJECTED,
}


def status_of(reason: str, late_policy: str = "review") -> Status:
    """The status one reason code leads to (the table of spec/interface.md).

    A code this table does not know (a parser's new problem) goes to a human: needs_review.
    """
    if reason.startswith(MISSING):
        return Status.INCOMPLETE
    if reason == LATE:
        return _LATE_STATUS.get(late_policy, Status.NEEDS_REVIEW)
    return _STATUS_OF.get(reason, Status.NEEDS_REVIEW)


def worst(statuses: Iterable[Status]) -> Status:
    """The worst of these statuses; accepted when there are none."""
    ranked = set(statuses)
    return next((s for s in SEVERITY if s in ranked), Status.ACCEPTED)


def status_for(reasons: Iterable[str], late_policy: str = "review") -> Status:
    """The decision taken once all rules have spoken: the worst status of any reason."""
    return worst(status_of(reason, late_policy) for reason in reasons)


# By default a message speaks of joining when it names the network and joining it.
# Each group is a set of stems that must all occur (diacritics and case folded).
DEFAULT_APPLICATION_KEYWORDS: tuple[tuple[str, ...], ...] = (
    ("mrez", "komunikator"),
    ("izjav", "pristop"),
)


@dataclass(frozen=True)
class Campaign:
    """The call's dates and our own identity; built from config by the orchestrator."""

    opens: datetime
    deadline: datetime
    closes: datetime
    late_policy: LatePolicy = "review"
    our_addresses: frozenset[str] = frozenset()
    our_domains: frozenset[str] = frozenset()
    application_keywords: tuple[tuple[str, ...], ...] = DEFAULT_APPLICATION_KEYWORDS


@dataclass(frozen=True)
class Facts:
    """Everything `decide` needs from the outside world, looked up by the orchestrator."""

    received_at: datetime  # the server's receive time (INTERNALDATE / newest Received)
    campaign: Campaign
    municipalities: Municipalities
    member_emails: frozenset[str] = frozenset()  # lowercased addresses of current members


@dataclass(frozen=True)
class DeclarationDecision:
    status: Status
    reasons: tuple[str, ...]
    fields: Fields  # as they are to be stored: municipality matched, email lowercased
    source: str = ""
    notes: tuple[str, ...] = ()  # words for the coordinator: which rule said what


@dataclass(frozen=True)
class MessageDecision:
    status: Status
    reasons: tuple[str, ...]
    declarations: tuple[DeclarationDecision, ...]
    detail: str = ""  # e.g. which auto-submitted rule fired, or the internal error

    @property
    def reply(self) -> bool:
        """Whether the sender gets a reply: never for an ignored message."""
        return self.status != Status.IGNORED


def too_early(received_at: datetime, campaign: Campaign) -> bool:
    """Whether the message arrived before the call opened.

    Such mail is not looked at at all: no decision is stored, no reply sent, no flag set.
    The orchestrator checks this before calling `decide`, which would otherwise treat the
    message like any other.
    """
    return received_at < campaign.opens


def _deadline_reason(received_at: datetime, campaign: Campaign) -> str | None:
    """late / closed by the server's receive time, compared to whole seconds.

    The deadline "2021-02-09T23:59:59" means "on or before 9 Feb": a message received at
    23:59:59.6 is still on time, so the fraction of a second is dropped before comparing.
    """
    at = received_at.replace(microsecond=0)
    if at <= campaign.deadline:
        return None
    if at <= campaign.closes:
        return LATE
    return CLOSED


# --- automatic mail -----------------------------------------------------------------------


@dataclass(frozen=True)
class AutoRule:
    name: str
    description: str
    # Returns the evidence (a short text) when the message is automatic by this rule.
    test: Callable[[MessageView, Campaign], str | None]


_NO_REPLY_LOCALS = frozenset(
    {"mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "donotreply"}
)
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_SUPPRESS_MARKS = frozenset({"all", "autoreply", "oof", "dr"})


def _header_rule(name: str, fires: Callable[[str], bool]) -> Callable[
    [MessageView, Campaign], str | None
]:
    def test(view: MessageView, campaign: Campaign) -> str | None:
        for value in view.headers.get(name.lower(), ()):
            if fires(value.strip()):
                return f"{name}: {value.strip()}"
        return None

    return test


def _present(name: str) -> Callable[[MessageView, Campaign], str | None]:
    return _header_rule(name, lambda value: True)


def _null_return_path(view: MessageView, campaign: Campaign) -> str | None:
    values = view.headers.get("return-path", ())
    for value in values:
        if re.fullmatch(r"<\s*>", value.strip()):
            return "Return-Path: <>"
    return None


def _robot_sender(view: MessageView, campaign: Campaign) -> str | None:
    local = view.sender.rpartition("@")[0]
    if local in _NO_REPLY_LOCALS or _NO_REPLY_PREFIX.match(local):
        return f"sender {view.sender}"
    return None


# "noreply-obvestila@", "no_reply@", "bounces+1234@", "donotreply.sistem@": senders whose
# name says nobody reads what is sent to them.
_NO_REPLY_PREFIX = re.compile(r"(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|bounces?)(?:$|[-_.+])")

# Subject prefixes autoresponders put in front of the subject they answer, where a header
# does not say so (Outlook's out-of-office in English and Slovenian, Lotus Notes, others).
_AUTOREPLY_SUBJECT = re.compile(
    r"\s*(?:\[\s*auto[-_ ]?reply\s*\]"
    r"|(?:automatic\s+reply|samodejni\s+odgovor|automatski\s+odgovor"
    r"|auto(?:matic)?[-_ ]?(?:reply|response)|out\s+of\s+(?:the\s+)?office|auto"
    r"|odsotnost(?:\s+z\s+dela)?|odsoten|odsotna|abwesenheitsnotiz|abwesend"
    r"|risposta\s+automatica)\s*:)",
    re.IGNORECASE,
)


def _autoreply_subject(view: MessageView, campaign: Campaign) -> str | None:
    found = _AUTOREPLY_SUBJECT.match(view.subject)
    return f"Subject: {view.subject[:80]}" if found else None


def _report(view: MessageView, campaign: Campaign) -> str | None:
    return "Content-Type: multipart/report" if view.content_type == "multipart/report" else None


def _our_own(view: MessageView, campaign: Campaign) -> str | None:
    if view.sender and view.sender in campaign.our_addresses:
        return f"sent from our address {view.sender}"
    message_id = (view.message_id or "").strip().strip("<>").lower()
    domain = message_id.rpartition("@")[2]
    if domain and domain in {d.lower() for d in campaign.our_domains}:
        return f"Message-ID of our domain {domain}"
    return None


def _suppressed(value: str) -> bool:
    return any(mark.strip().lower() in _SUPPRESS_MARKS for mark in value.split(","))


AUTO_RULES: tuple[AutoRule, ...] = (
    AutoRule(
        "auto-submitted",
        "Auto-Submitted other than 'no' (RFC 3834)",
        _header_rule("Auto-Submitted", lambda v: v.split(";")[0].strip().lower() != "no"),
    ),
    AutoRule(
        "precedence",
        "Precedence bulk, junk, list or auto_reply",
        _header_rule("Precedence", lambda v: v.lower() in _BULK_PRECEDENCE),
    ),
    AutoRule(
        "auto-response-suppress",
        "X-Auto-Response-Suppress lists All, AutoReply, OOF or DR (Exchange)",
        _header_rule("X-Auto-Response-Suppress", _suppressed),
    ),
    AutoRule("list-id", "mailing-list traffic (List-Id)", _present("List-Id")),
    AutoRule("list-unsubscribe", "mailing-list traffic (List-Unsubscribe)",
             _present("List-Unsubscribe")),
    AutoRule("x-loop", "X-Loop: a mail loop guard set by an autoresponder", _present("X-Loop")),
    AutoRule("null-return-path", "Return-Path <>: a bounce or a notification",
             _null_return_path),
    AutoRule("robot-sender", "sender is mailer-daemon, postmaster or a no-reply address",
             _robot_sender),
    AutoRule("report", "multipart/report: a delivery or read report", _report),
    AutoRule("failed-recipients", "X-Failed-Recipients: a bounce",
             _present("X-Failed-Recipients")),
    AutoRule(
        "x-autoreply",
        "X-Autoreply: an autoresponder's reply",
        _header_rule("X-Autoreply", lambda v: v.lower() != "no"),
    ),
    AutoRule(
        "x-autorespond",
        "X-Autorespond: an autoresponder's reply",
        _header_rule("X-Autorespond", lambda v: v.lower() != "no"),
    ),
    AutoRule("autoreply-subject",
             "an autoresponder's subject ('Samodejni odgovor:', 'Automatic reply:', 'Auto:')",
             _autoreply_subject),
    AutoRule("our-own", "our own message: our address or our Message-ID domain", _our_own),
)


def auto_submitted_reason(view: MessageView, campaign: Campaign | None = None) -> str | None:
    """Why this message was sent by a machine (or by us), or None for a person's mail.

    Answering an autoresponder, a bounce or a list starts mail loops and spams lists
    (RFC 3834 section 2); answering ourselves does the same. The text names the rule and
    its evidence, e.g. "precedence (Precedence: bulk)", for logs and the digest.
    """
    campaign = campaign or _NO_CAMPAIGN
    for rule in AUTO_RULES:
        evidence = rule.test(view, campaign)
        if evidence:
            return f"{rule.name} ({evidence})"
    return None


# --- is it an application? ----------------------------------------------------------------


def speaks_of_joining(view: MessageView, keywords: Sequence[Sequence[str]]) -> bool:
    """Whether subject, body or an attachment's file name names the network and joining it.

    A group of stems matches when every stem begins some word of that text; attachment
    names count because "izjava_o_pristopu_mreza.pdf" says it as plainly as a subject.
    """
    parts = [view.subject, view.body_text, *view.forwarded_bodies]
    parts += [a.filename.replace("_", " ") for a in view.attachments]
    # Stems count at the start of a word only: "omrežja" (social networks) is not "mreža".
    words = " " + re.sub(r"[^0-9a-z]+", " ", fold(" ".join(parts))) + " "
    return any(group and all(" " + fold(stem) in words for stem in group)
               for group in keywords)


def _found(declarations: Sequence[Declaration]) -> list[Declaration]:
    return [d for d in declarations if d.fields]


def _unreadable(declarations: Sequence[Declaration]) -> list[Declaration]:
    return [d for d in declarations if not d.fields and UNREADABLE_ATTACHMENT in d.problems]


def is_application(
    view: MessageView,
    declarations: Sequence[Declaration],
    keywords: Sequence[Sequence[str]] = DEFAULT_APPLICATION_KEYWORDS,
) -> bool:
    """Whether the message is an application at all (spec: "Which messages are applications").

    The mailbox is the coordinator's own: invoices, colleagues' notes and newsletters arrive
    there too and must be left alone. A message is an application when a declaration was
    found in it, or when it speaks of joining the network (then an unreadable attachment is
    presumed to be the declaration). An unreadable attachment alone proves nothing.
    """
    return bool(_found(declarations)) or speaks_of_joining(view, keywords)


def answers_us(view: MessageView, campaign: Campaign) -> bool:
    """Whether the message replies to one of ours (In-Reply-To or References name a
    Message-ID of our own domain)."""
    domains = {domain.lower() for domain in campaign.our_domains}
    cited = " ".join(filter(None, (view.header("in-reply-to"), view.header("references"))))
    return any(ref.strip("<>").rpartition("@")[2].lower() in domains
               for ref in cited.split() if "@" in ref)


def only_quoted(view: MessageView, declarations: Sequence[Declaration]) -> bool:
    """Whether every declaration found is the body's and the sender's own words (above the
    quoted original and the signature) hold no label of the form.

    "Hvala za potrditev!" above the quoted thread brings the applicant's first declaration
    along, typed in the body; the body reader rightly reads quotes (a colleague forwards a
    form that way), but in an answer to our reply the quoted form is the one already decided.
    Own words with a label ("Vloga: ...") are an answer with data and are read as before;
    a phone alone is the signature's ("Tel.: 01 831 81 00"): the phone is optional, so our
    replies never ask for it.
    """
    if not declarations or any(not d.source.startswith("body") for d in declarations):
        return False
    own = read_items([(None, own_text(view.body_text))])
    return own.labels <= _SIGNATURE_LABELS and not own.title


_SIGNATURE_LABELS = frozenset({"phone"})


# Public mail providers: a coordinator on one of these has no colleagues by domain.
_PUBLIC_MAIL = frozenset({
    "gmail.com", "googlemail.com", "siol.net", "t-2.net", "amis.net", "volja.net",
    "telemach.net", "email.si", "guest.arnes.si", "hotmail.com", "outlook.com", "live.com",
    "yahoo.com", "gmx.net", "gmx.de", "icloud.com",
})


def from_colleague(view: MessageView, campaign: Campaign) -> bool:
    """Whether the sender works where the coordinator does (the domain of our addresses,
    or a subdomain of it): the call is for municipalities and their public institutions, so
    a colleague writing about the network, its first meeting or a newsletter item is never
    applying, and a reply asking for the form would be absurd. A declaration a colleague
    forwards is still found and decided (`decide` looks for one first)."""
    ours = {address.rpartition("@")[2].lower() for address in campaign.our_addresses}
    ours -= _PUBLIC_MAIL
    domain = view.sender.rpartition("@")[2].lower()
    return bool(domain) and any(domain == d or domain.endswith("." + d) for d in ours if d)


# --- one declaration ----------------------------------------------------------------------


@dataclass
class _Draft:
    """What the declaration rules see and add to, for one declaration."""

    fields: Fields
    facts: Facts
    municipality: Municipality | None
    municipality_given: bool  # the applicant typed a municipality (or, for obcina, a name)
    duplicate_in_message: bool
    parser_problems: tuple[str, ...]
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DeclarationRule:
    name: str
    description: str
    apply: Callable[[_Draft], None]


def _text(fields: Mapping[str, FieldValue], name: str) -> str:
    value = fields.get(name)
    return value.strip() if isinstance(value, str) else ""


def _missing(draft: _Draft) -> None:
    derived = {"municipality"} if draft.municipality else set()
    codes = list(missing_problems(draft.fields))
    codes += [p for p in draft.parser_problems if p.startswith(MISSING)]
    email = _text(draft.fields, "email")
    if email and not _looks_like_address(email):
        codes.append(MISSING + "email")
        draft.notes.append(f"»{email}« ni veljaven e-naslov")
    for code in dict.fromkeys(codes):
        if code[len(MISSING):] not in derived:
            draft.reasons.append(code)


def _parser_problems(draft: _Draft) -> None:
    for problem in draft.parser_problems:
        if not problem.startswith(MISSING) and problem != NO_DECLARATION:
            draft.reasons.append(problem)


_COMPANY = re.compile(
    r"(?<![a-z])(d\s*\.?\s*o\s*\.?\s*o|d\.\s*d|s\.\s*p|k\.\s*d|d\.\s*n\.\s*o|z\.\s*o\.\s*o)"
    r"(?![a-z])"
)
# A public company ("Javno podjetje VO-KA Snaga", "JP Komunala") is a company a municipality
# owns, not a public institution: the call is for municipalities and their javni zavodi.
_PUBLIC_COMPANY = re.compile(r"\b(javn\w* podjetj\w*|jp)\b")
_STATE = re.compile(
    r"\b(ministrstv\w*|vlad[aei]\b|upravn\w* enot\w*|agencij\w* (rs|republike slovenije)\b"
    r"|drzavn\w*"
    # "Zavod RS za zaposlovanje", "Uprava RS za zaščito in reševanje", "Javni sklad RS ...",
    # "Statistični urad Republike Slovenije": the state's own bodies and funds.
    r"|(zavod|uprav|urad|sklad|inspektorat|direkcij|sluzb|arhiv)\w*( \w+){0,2} "
    r"(rs|republike slovenije)\b"
    r"|policij\w*|sodisc\w*|tozilstv\w*)"
)
# Public institutions only the state founds, whatever town their name carries: the town is
# their seat, not a founder.
_STATE_INSTITUTION = re.compile(
    r"\b(centr?\w* za socialno delo|csd\b|gimnazij\w*|srednj\w*( \w+){0,3} sol\w*"
    r"|solsk\w* centr?\w*|bolnisnic\w*|fakultet\w*|univerz\w* (v|na)\b"
    r"|univerzitetn\w* klinicn\w*"
    # A national institution says so: "Zavod za gozdove Slovenije", "Muzej novejše
    # zgodovine Slovenije", "Zavod za zdravstveno zavarovanje Slovenije, OE Kranj".
    r"|(zavod|institut|muzej|arhiv|galerij)\w*\b[^,;]* slovenije\b)"
)
_MEDIA = re.compile(
    r"\b(radio\w*|radi[ja]\b|televizij\w*|tv\b|casopis\w*|rtv\b|novice\b|tednik\w*|revij\w*"
    r"|urednistv\w*)"
)
# A society ("Turistično društvo Bled") is the organisation itself only in the singular:
# "Oddelek za društva" is a municipal department.
_SOCIETY = re.compile(r"\bdrustvo\b")
_PUBLIC_INSTITUTION = re.compile(r"\b(javni zavod|jz\b|javnega zavoda)")
# Where an organisation's name leaves its head for a department: "Občina Bled, uredništvo
# Blejskih novic", "Mestna občina Kranj - Urad župana".
_HEAD_END = re.compile(r"\s*[,;/(]\s*|\s+[-–—]\s+")


def _is_municipality(organization: str, municipalities: Municipalities) -> bool:
    """Whether the organisation is a municipality itself, perhaps with a department after it.

    A municipality's own newsletter editor or media office ("Občina Bled, uredništvo
    Blejskih novic") is a municipal employee, not a medium.
    """
    head = _HEAD_END.split(organization, maxsplit=1)[0]
    return bool(municipalities.match(organization) or (head and municipalities.match(head)))


def _not_eligible(draft: _Draft) -> None:
    organization = fold(_text(draft.fields, "organization"))
    if not organization:
        return
    if _is_municipality(_text(draft.fields, "organization"), draft.facts.municipalities):
        return
    why = None
    if _PUBLIC_COMPANY.search(organization):
        why = "javno podjetje (gospodarska družba, ne javni zavod)"
    elif _COMPANY.search(organization):
        why = "gospodarska družba"
    elif _STATE.search(organization):
        why = "državni organ"
    elif _STATE_INSTITUTION.search(organization):
        why = "javni zavod, ki ga ustanovi država"
    elif _MEDIA.search(organization) and not _PUBLIC_INSTITUTION.search(organization):
        why = "medij"
    elif _SOCIETY.search(organization):
        why = "društvo"
    if why:
        draft.reasons.append(NOT_ELIGIBLE)
        # Words for the coordinator, who reads them in the Slovenian digest.
        draft.notes.append(f"»{_text(draft.fields, 'organization')}« je {why}")


def _unknown_municipality(draft: _Draft) -> None:
    if NOT_ELIGIBLE in draft.reasons or draft.municipality or not draft.municipality_given:
        return
    draft.reasons.append(UNKNOWN_MUNICIPALITY)


_ROLE_FITS: Mapping[str, frozenset[str]] = {
    "director": frozenset({"obcina"}),
    "mayor": frozenset({"obcina"}),
    "institution_pr": frozenset({"javni_zavod"}),
}


# What names a public institution rather than a municipal administration.
_INSTITUTION = re.compile(
    r"\b(javn\w* zavod\w*|jz|zavod\w*|knjiznic\w*|os|osnovn\w* sol\w*|glasben\w* sol\w*"
    r"|vrtec|vrtc\w*|zdravstven\w* dom\w*|lekarn\w*|muzej\w*|galerij\w*|gledalisc\w*"
    r"|ljudsk\w* univerz\w*|kulturn\w* dom\w*|mladinsk\w* centr?\w*"
    r"|turisticn\w* informacijsk\w* centr?\w*)\b"
)


def _role_mismatch(draft: _Draft) -> None:
    """director and mayor belong to a municipality, institution_pr to a public institution.

    The ticked organisation type is checked, and so is the name: a director who ticks
    "občina" but writes "Zavod za turizem Bled" directs the institution, not the municipal
    administration, and the coordinator should see it.
    """
    role = _text(draft.fields, "role")
    kind = _text(draft.fields, "organization_type")
    if role in _ROLE_FITS and kind and kind not in _ROLE_FITS[role]:
        draft.reasons.append(ROLE_MISMATCH)
    elif role in ("director", "mayor") and _names_an_institution(draft):
        draft.reasons.append(ROLE_MISMATCH)
        draft.notes.append(f"»{_text(draft.fields, 'organization')}« je javni zavod, ne občina")


def _names_an_institution(draft: _Draft) -> bool:
    organization = _text(draft.fields, "organization")
    if not organization or _is_municipality(organization, draft.facts.municipalities):
        return False
    return _INSTITUTION.search(fold(organization)) is not None


def _deadline(draft: _Draft) -> None:
    reason = _deadline_reason(draft.facts.received_at, draft.facts.campaign)
    if reason:
        draft.reasons.append(reason)


def _updated(draft: _Draft) -> None:
    email = _text(draft.fields, "email")
    if email and email in draft.facts.member_emails:
        draft.reasons.append(UPDATED)
    elif draft.duplicate_in_message:
        draft.reasons.append(UPDATED)
        draft.notes.append(f"nadomesti prejšnjo izjavo za {email} v istem sporočilu")


DECLARATION_RULES: tuple[DeclarationRule, ...] = (
    DeclarationRule("parser", "problems the parser reported, other than missing fields",
                    _parser_problems),
    DeclarationRule("missing", "a required field is empty or consent is not given", _missing),
    DeclarationRule("eligibility", "the organisation is plainly a company, state body or medium",
                    _not_eligible),
    DeclarationRule("municipality", "the municipality cannot be matched to the list",
                    _unknown_municipality),
    DeclarationRule("role", "director and mayor only in a municipality, institution_pr only in "
                    "a public institution", _role_mismatch),
    DeclarationRule("deadline", "received after the deadline (late) or the close (closed)",
                    _deadline),
    DeclarationRule("update", "the address already belongs to a member, or an earlier "
                    "declaration in this message", _updated),
)


def _looks_like_address(text: str) -> bool:
    return re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", text) is not None


# A joint municipal administration ("Skupna občinska uprava občin Kranj in Naklo",
# "Medobčinska uprava občin Slovenske Konjice, Vitanje in Zreče") names all its members.
_JOINT_ADMINISTRATION = re.compile(r"\b(skupn\w* (obcinsk\w* )?uprav\w*|medobcinsk\w*)")


@dataclass(frozen=True)
class _Resolved:
    municipality: Municipality | None
    given: bool  # the applicant named one (or, for obcina, the organisation at all)
    named: tuple[Municipality, ...] = ()  # all of several municipalities the text named


def _several(text: str, municipalities: Municipalities) -> tuple[Municipality, ...]:
    named = municipalities.find_all(text)
    return named if len(named) > 1 else ()


def _resolve_municipality(
    fields: Mapping[str, FieldValue], municipalities: Municipalities
) -> _Resolved:
    """The municipality this declaration belongs to, and whether the applicant named one.

    Several founders in the municipality field ("Občini Kranj in Naklo") or a joint
    administration of several municipalities: every one of them is a municipality, so the
    organisation is eligible; the first named (usually the seat) is stored and all of them
    are noted for the coordinator.
    """
    kind = _text(fields, "organization_type")
    organization = _text(fields, "organization")
    given = _text(fields, "municipality")
    if kind == "obcina":
        for text in (organization, given):
            found = text and (municipalities.match(text) or municipalities.find_in(text))
            if found:
                return _Resolved(found, True)
        joint = _JOINT_ADMINISTRATION.search(fold(organization))
        named = _several(organization, municipalities) if joint else ()
        named = named or (_several(given, municipalities) if given else ())
        if named:
            return _Resolved(named[0], True, named)
        return _Resolved(None, bool(organization or given))
    if given:
        found = municipalities.match(given) or municipalities.find_in(given)
        if found:
            return _Resolved(found, True)
        named = _several(given, municipalities)
        return _Resolved(named[0] if named else None, True, named)
    if organization:
        # A public institution's name usually says its town: "Javni zavod Cerkno".
        found = municipalities.find_in(organization)
        if found or kind == "javni_zavod":
            return _Resolved(found, False)
    return _Resolved(None, False)


def _stored_fields(fields: Fields, municipality: Municipality | None) -> Fields:
    stored: Fields = dict(fields)
    email = stored.get("email")
    if isinstance(email, str):
        stored["email"] = email.strip().strip("<>").lower()
    if municipality:
        stored["municipality"] = municipality.name
    return stored


def _decide_declaration(
    declaration: Declaration, facts: Facts, earlier_emails: set[str]
) -> DeclarationDecision:
    resolved = _resolve_municipality(declaration.fields, facts.municipalities)
    municipality = resolved.municipality
    fields = _stored_fields(declaration.fields, municipality)
    email = _text(fields, "email")
    draft = _Draft(
        fields=fields,
        facts=facts,
        municipality=municipality,
        municipality_given=resolved.given,
        duplicate_in_message=bool(email) and email in earlier_emails,
        parser_problems=tuple(declaration.problems),
    )
    if resolved.named:
        names = ", ".join(m.name for m in resolved.named)
        draft.notes.append(f"navedenih je več občin ({names}); shranjena je prva")
    for rule in DECLARATION_RULES:
        rule.apply(draft)
    reasons = tuple(dict.fromkeys(draft.reasons))
    return DeclarationDecision(
        status=status_for(reasons, facts.campaign.late_policy),
        reasons=reasons,
        fields=fields,
        source=declaration.source,
        notes=tuple(draft.notes),
    )


def _message(decisions: Sequence[DeclarationDecision], detail: str = "") -> MessageDecision:
    reasons = tuple(dict.fromkeys(r for d in decisions for r in d.reasons))
    return MessageDecision(
        status=worst(d.status for d in decisions),
        reasons=reasons,
        declarations=tuple(decisions),
        detail=detail,
    )


def _without_declaration(reasons: Sequence[str], facts: Facts, source: str = "",
                         notes: Sequence[str] = ()) -> DeclarationDecision:
    unique = tuple(dict.fromkeys(reasons))
    return DeclarationDecision(
        status=status_for(unique, facts.campaign.late_policy),
        reasons=unique,
        fields={},
        source=source,
        notes=tuple(notes),
    )


def decide(
    view: MessageView, declarations: Sequence[Declaration], facts: Facts
) -> MessageDecision:
    """What becomes of one message: a status and reasons per declaration, and overall.

    Pure and total: it reads only its arguments and never raises. An unexpected error is
    itself an outcome (needs_review with `internal_error`, the traceback in `detail`), so
    one strange message can never stop the batch nor go unanswered without a human seeing
    it. The caller has already skipped messages received before the call opened
    (`too_early`).

    - Automatic mail and our own mail are ignored (`auto_submitted`) before anything else,
      even when a declaration is attached: answering a bounce or an out-of-office reply
      that quotes the application would start a loop.
    - Mail that is not an application (`is_application`) is ignored (`not_application`), and
      so are an answer to our reply without a declaration of its own (only the quoted one)
      and a colleague's mail (our own domain) without a declaration.
    - An application without a readable declaration gets one decision with empty fields:
      `no_declaration` (incomplete) or `unreadable_attachment` (needs_review), plus
      late/closed, so a message after the close is refused rather than asked for the form.
    - Each declaration found is judged by `DECLARATION_RULES`; each unreadable attachment
      beside it gets its own needs_review decision, so nothing a person sent is dropped
      unseen. Two declarations for the same address in one message: the later one is
      marked `updated`, so storing them in order leaves the later one.
    - The message's status is the worst of its declarations'; reasons are their union in
      first-seen order; a reply is due unless the message is ignored.
    """
    try:
        return _decide(view, declarations, facts)
    except Exception as exc:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        decision = DeclarationDecision(Status.NEEDS_REVIEW, (INTERNAL_ERROR,), {})
        return MessageDecision(Status.NEEDS_REVIEW, (INTERNAL_ERROR,), (decision,), error)


def _decide(
    view: MessageView, declarations: Sequence[Declaration], facts: Facts
) -> MessageDecision:
    campaign = facts.campaign
    automatic = auto_submitted_reason(view, campaign)
    if automatic:
        return _message([_without_declaration([AUTO_SUBMITTED], facts)], automatic)
    if not is_application(view, declarations, campaign.application_keywords):
        return _message([_without_declaration([NOT_APPLICATION], facts)])
    if not declarations and answers_us(view, campaign):
        # "Hvala!" in answer to our reply speaks of the declaration in its quoted subject,
        # but asking for the form again would be absurd: it is the coordinator's to read.
        return _message([_without_declaration([NOT_APPLICATION], facts)],
                        "an answer to our reply, without a declaration")
    if answers_us(view, campaign) and only_quoted(view, declarations):
        # Deciding the quoted declaration again would answer a thank-you with another
        # "accepted"/"updated" reply; the coordinator reads what was written above it.
        return _message([_without_declaration([NOT_APPLICATION], facts)],
                        "an answer to our reply; its declaration is only the quoted one")
    if not _found(declarations) and from_colleague(view, campaign):
        return _message([_without_declaration([NOT_APPLICATION], facts)],
                        "a colleague's message without a declaration")
    timing = _deadline_reason(facts.received_at, campaign)
    found = _found(declarations)
    unreadable = _unreadable(declarations)
    decisions: list[DeclarationDecision] = []
    earlier: set[str] = set()
    for declaration in found:
        decision = _decide_declaration(declaration, facts, earlier)
        email = _text(decision.fields, "email")
        if email:
            earlier.add(email)
        decisions.append(decision)
    for declaration in unreadable:
        reasons = [UNREADABLE_ATTACHMENT, *([timing] if timing else [])]
        notes = [declaration.detail] if declaration.detail else []
        decisions.append(_without_declaration(reasons, facts, declaration.source, notes))
    if not decisions:
        decisions.append(_without_declaration([NO_DECLARATION, *([timing] if timing else [])],
                                              facts))
    return _message(decisions)


# Only the identity parts of a campaign matter to the auto-submitted rules.
_NO_CAMPAIGN = Campaign(
    opens=datetime.min.replace(tzinfo=UTC),
    deadline=datetime.max.replace(tzinfo=UTC),
    closes=datetime.max.replace(tzinfo=UTC),
)
