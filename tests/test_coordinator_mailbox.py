"""The coordinator's mailbox during the 2021 call, as she judges it.

Messages of kinds the sample mailbox (intake/samples.py) does not hold, each built in memory
and run through the pure pipeline: `read_message`, `declarations_in` with `parse_document`,
and `decide`. Each case states what the coordinator expects: status, reasons, and whether a
reply is due.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from zoneinfo import ZoneInfo

import pytest

from intake.cycle import declarations_in
from intake.decide import Campaign, Facts, MessageDecision, Status, decide
from intake.municipalities import load_municipalities
from intake.reading import read_message
from intake.samples import DOCX_TYPE, fill_docx, fill_pdf
from parsers.document import parse_document
from parsers.model import FieldValue
from tests.parsers.builders import image_pdf

LJ = ZoneInfo("Europe/Ljubljana")
COORDINATOR = "metka.lasic@skupnostobcin.si"
# As intake/bootstrap.py builds it: our address, and the intake. subdomain of our Message-IDs.
CAMPAIGN = Campaign(
    opens=datetime(2021, 1, 29, 16, 0, tzinfo=LJ),
    deadline=datetime(2021, 2, 9, 23, 59, 59, tzinfo=LJ),
    closes=datetime(2021, 2, 16, 16, 0, tzinfo=LJ),
    late_policy="review",
    our_addresses=frozenset({COORDINATOR}),
    our_domains=frozenset({"intake.skupnostobcin.si"}),
)
ON_TIME = datetime(2021, 2, 5, 10, 0, tzinfo=LJ)
FACTS = Facts(received_at=ON_TIME, campaign=CAMPAIGN, municipalities=load_municipalities())
OUR_REPLY_ID = "<intake.3f2a9c01@intake.skupnostobcin.si>"


def person(name: str, email: str, organization: str, role: str = "pr_staff",
           **more: FieldValue) -> dict[str, FieldValue]:
    fields: dict[str, FieldValue] = {
        "full_name": name, "job_title": "svetovalka za odnose z javnostmi", "email": email,
        "organization_type": "obcina", "organization": organization, "role": role,
        "consent": True,
    }
    fields.update(more)
    return fields


def mail(sender: str, subject: str, body: str, *,
         attachments: Sequence[tuple[str, str, bytes]] = (),
         headers: Mapping[str, str] | None = None, forwarded: bytes | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = COORDINATOR
    message["Subject"] = subject
    message["Date"] = "Fri, 05 Feb 2021 10:00:00 +0100"
    message["Message-ID"] = f"<m-1@{sender.rpartition('@')[2].rstrip('>')}>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    if forwarded is not None:
        message.add_attachment(message_from_bytes(forwarded, policy=SMTP))
    return message.as_bytes(policy=SMTP)


def run(raw: bytes, facts: Facts = FACTS) -> MessageDecision:
    view = read_message(raw)
    return decide(view, declarations_in(view, parse_document), facts)


def quoted(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines())


BODY_DECLARATION = """IZJAVA O PRISTOPU K MREŽI KOMUNIKATORJEV V OBČINAH IN OBČINSKIH JAVNIH ZAVODIH

Ime in priimek: Mateja Hren
Delovno mesto: svetovalka za odnose z javnostmi
E-naslov: mateja.hren@kamnik.si
Vrsta organizacije: občina
Naziv organizacije: Občina Kamnik
Vloga: zaposleni za odnose z javnostmi
Soglasje: [x] soglašam"""
OUR_ACCEPTED = """Pozdravljeni,

vaša izjava o pristopu k Mreži komunikatorjev v občinah in občinskih javnih zavodih
je sprejeta. Mateja Hren (Občina Kamnik) ste vpisani med člane mreže.

Lep pozdrav,
Skupnost občin Slovenije"""
GMAIL_THREAD = ("Dne 5. 2. 2021 ob 09:01 je Skupnost občin Slovenije "
                f"<{COORDINATOR}> napisal(a):\n" + quoted(OUR_ACCEPTED + "\n\n"
                                                           + quoted(BODY_DECLARATION)))
OUTLOOK_THREAD = (f"From: Skupnost občin Slovenije <{COORDINATOR}>\n"
                  "Sent: Friday, February 5, 2021 9:01 AM\nTo: Mateja Hren\n"
                  "Subject: Re: Izjava o pristopu\n\n" + OUR_ACCEPTED
                  + "\n\nFrom: Mateja Hren <mateja.hren@kamnik.si>\n"
                  "Sent: Friday, February 5, 2021 9:00 AM\n\n" + BODY_DECLARATION)
ANSWERS_US = {"In-Reply-To": OUR_REPLY_ID, "References": f"<m-0@kamnik.si> {OUR_REPLY_ID}"}
MATEJA = "Mateja Hren <mateja.hren@kamnik.si>"


# --- an answer to our reply that only quotes the declaration -------------------------------


@pytest.mark.parametrize("body", [
    "Hvala za potrditev!\n\nMateja\n\n" + GMAIL_THREAD,
    "Hvala za potrditev!\n\nMateja\n\n" + OUTLOOK_THREAD,
    # The phone is the signature's: our replies never ask for it (it is optional).
    "Hvala še enkrat!\n\nMateja Hren\nObčina Kamnik\nTel.: 01 831 81 00\n\n" + GMAIL_THREAD,
    GMAIL_THREAD,  # nothing typed above the quote
], ids=["gmail", "outlook", "signature-phone", "empty"])
def test_thanks_quoting_the_body_declaration_is_left_to_the_coordinator(body: str) -> None:
    """GIVEN an applicant who typed the declaration in the body, was accepted, and answers
    our reply with "Hvala za potrditev!" above the quoted thread
    THEN the quoted declaration is not decided again: ignored, no second "accepted" or
    "updated" reply (the coordinator reads the thanks in her inbox)."""
    decision = run(mail(MATEJA, "Re: Izjava o pristopu", body, headers=ANSWERS_US))
    assert (decision.status, decision.reasons) == (Status.IGNORED, ("not_application",))
    assert decision.reply is False
    # Once she is a member, the quoted declaration would be "updated": still not answered.
    member = replace(FACTS, member_emails=frozenset({"mateja.hren@kamnik.si"}))
    assert run(mail(MATEJA, "Re: Izjava o pristopu", body, headers=ANSWERS_US),
               member).reply is False


def test_answer_to_our_reply_with_new_data_above_the_quote_is_still_read() -> None:
    """GIVEN our "incomplete" reply (role missing) answered with the role typed above the
    quoted original THEN the answer is decided as a declaration, as before."""
    original = BODY_DECLARATION.replace("Vloga: zaposleni za odnose z javnostmi\n", "")
    asked = ("Pozdravljeni,\n\nvašo izjavo ... smo prejeli, vendar v njej manjkajo "
             "naslednji podatki:\n  - vloga v mreži\n")
    body = ("Vloga: zaposleni za odnose z javnostmi\n\nLp, Mateja\n\n"
            + quoted(asked + "\n" + quoted(original)))
    decision = run(mail(MATEJA, "Re: Izjava o pristopu", body, headers=ANSWERS_US))
    assert (decision.status, decision.reasons) == (Status.ACCEPTED, ())
    assert decision.declarations[0].fields["role"] == "pr_staff"


def test_retyped_declaration_in_answer_to_our_reply_is_read() -> None:
    decision = run(mail(MATEJA, "Re: Izjava o pristopu",
                        BODY_DECLARATION + "\n\nLp, Mateja\n\n" + GMAIL_THREAD,
                        headers=ANSWERS_US))
    assert (decision.status, decision.reasons) == (Status.ACCEPTED, ())


def test_quoted_declaration_from_a_colleague_is_still_read() -> None:
    """A forward (not an answer to us) that quotes the applicant's typed declaration stays
    an application: the body reader reads quotes for exactly that."""
    body = "Pošiljam izjavo sodelavke.\n\n" + quoted(BODY_DECLARATION)
    decision = run(mail("Tajništvo <tajnistvo@kamnik.si>", "Fwd: Izjava o pristopu", body))
    assert (decision.status, decision.reasons) == (Status.ACCEPTED, ())


# --- colleagues of the coordinator ---------------------------------------------------------


@pytest.mark.parametrize(("sender", "subject", "body"), [
    ("Marko Horvat <marko.horvat@skupnostobcin.si>", "Mreža komunikatorjev - prvo srečanje",
     "Metka, za prvo srečanje mreže komunikatorjev predlagam 4. marec. Koliko izjav o "
     "pristopu je prišlo do zdaj?\nMarko"),
    ("Obvestila SOS <obvestila@skupnostobcin.si>", "Novičnik SOS, februar 2021",
     "V tem mesecu:\n- Poziv k pristopu k Mreži komunikatorjev v občinah (rok 9. 2.)\n"
     "Izjavo o pristopu najdete na naši spletni strani."),
    ("Marko Horvat <marko.horvat@skupnostobcin.si>", "FW: Prijava v mrežo komunikatorjev",
     "Metka, to je zate.\n\n-----Original Message-----\nFrom: Tina <tina.kralj@velenje.si>\n"
     "Subject: Prijava v mrežo komunikatorjev\n\nKako se prijavim v mrežo komunikatorjev?"),
], ids=["internal-note", "own-newsletter", "forwarded-question"])
def test_colleague_mail_about_the_network_is_not_an_application(
        sender: str, subject: str, body: str) -> None:
    """GIVEN a colleague at SOS (the coordinator's own domain) writing about the network
    without a declaration THEN ignored: no reply asking a colleague to fill in the form."""
    decision = run(mail(sender, subject, body))
    assert (decision.status, decision.reasons) == (Status.IGNORED, ("not_application",))
    assert decision.reply is False


def test_a_municipality_asking_the_same_is_answered_with_the_form() -> None:
    decision = run(mail("Tina Kralj <tina.kralj@velenje.si>", "Prijava v mrežo komunikatorjev",
                        "Kako se prijavim v mrežo komunikatorjev?"))
    assert (decision.status, decision.reasons) == (Status.INCOMPLETE, ("no_declaration",))


def test_colleague_forwarding_a_declaration_is_still_decided() -> None:
    fields = person("Klavdija Rus", "klavdija.rus@ajdovscina.si", "Občina Ajdovščina")
    decision = run(mail("Marko Horvat <marko.horvat@skupnostobcin.si>",
                        "FW: Izjava o pristopu k mreži", "Metka, posredujem.",
                        attachments=[("izjava_rus.docx", DOCX_TYPE, fill_docx(fields))]))
    assert (decision.status, decision.reasons) == (Status.ACCEPTED, ())


def test_a_coordinator_on_public_mail_has_no_colleagues_by_domain() -> None:
    """A coordinator writing from gmail.com: every gmail.com applicant is not her colleague."""
    gmail = replace(FACTS, campaign=replace(CAMPAIGN,
                                            our_addresses=frozenset({"metka.lasic@gmail.com"})))
    decision = run(mail("Tina Kralj <tina.kralj.velenje@gmail.com>",
                        "Prijava v mrežo komunikatorjev",
                        "Kako se prijavim v mrežo komunikatorjev?"), gmail)
    assert (decision.status, decision.reasons) == (Status.INCOMPLETE, ("no_declaration",))


# --- the rest of the mailbox: what intake already does right -------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    raw: bytes
    status: Status
    reasons: tuple[str, ...]
    received_at: datetime = ON_TIME
    members: frozenset[str] = frozenset()


def _cases() -> list[Case]:
    pdf, docx = fill_pdf, fill_docx
    mayor = person("Milan Repič", "zupan@obcina-sodrazica.si", "Občina Sodražica", "mayor",
                   job_title="župan")
    boris = person("Boris Lah", "boris.lah@vrhnika.si", "Občina Vrhnika",
                   phone="01 755 54 99")
    nat = person("Nataša Bizjak", "natasa.bizjak@sezana.si", "Občina Sežana")
    team = [person("Urška Golob", "urska.golob@novo-mesto.si", "Mestna občina Novo mesto"),
            person("Matej Kern", "matej.kern@novo-mesto.si", "Mestna občina Novo mesto",
                   "other_employee")]
    bohinj = ("IZJAVA O PRISTOPU K MREŽI KOMUNIKATORJEV V OBČINAH IN OBČINSKIH JAVNIH ZAVODIH"
              "\n\nIme in priimek: Klemen Sodja\nDelovno mesto: vodja marketinga\n"
              "E-naslov: klemen.sodja@bohinj.si\nVrsta organizacije: javni zavod\n"
              "Naziv organizacije: Zavod za turizem Bohinj\n"
              "Vloga: odnosi z javnostmi v javnem zavodu\nSoglasje: [x] soglašam\n\nLp, Klemen")
    company = person("Jure Mali", "jure@komunikacije.si", "Komunikacije d.o.o.")
    piran = person("Giulia Bonifacio", "giulia.bonifacio@piran.si",
                   "Občina Piran - Comune di Pirano", job_title="public relations officer")
    medvode = person("Rok Zupančič", "rok.zupancic@medvode.si", "Občina Medvode")
    inner = mail("Darja Kolar <darja.kolar@idrija.si>", "Pristop k mreži komunikatorjev",
                 "Pošiljam izjavo.", attachments=[("izjava.pdf", "application/pdf", pdf(
                     person("Darja Kolar", "darja.kolar@idrija.si", "Občina Idrija")))])
    late = person("Andrej Kralj", "andrej.kralj@litija.si", "Občina Litija")
    list_headers = {"List-Id": "Obcine <obcine.lists.skupnostobcin.si>"}
    return [
        Case("secretary sends the mayor's declaration, Reply-To the mayor",
             mail("Tajništvo Občine Sodražica <tajnistvo@obcina-sodrazica.si>",
                  "Izjava župana o pristopu k mreži komunikatorjev",
                  "V imenu župana pošiljamo podpisano izjavo.",
                  attachments=[("Izjava_zupan.pdf", "application/pdf", pdf(mayor))],
                  headers={"Reply-To": "Milan Repič <zupan@obcina-sodrazica.si>"}),
             Status.ACCEPTED, ()),
        Case("colleague at SOS forwards as message/rfc822",
             mail("Info SOS <info@skupnostobcin.si>", "Fwd: Pristop k mreži komunikatorjev",
                  "Metka, posredujem prijavo.", forwarded=inner),
             Status.ACCEPTED, ()),
        Case("the same declaration again, z popravkom (phone changed)",
             mail("Boris Lah <boris.lah@vrhnika.si>", "Izjava o pristopu - z popravkom",
                  "Pošiljam še enkrat, s popravkom telefonske številke.",
                  attachments=[("izjava_popravek.docx", DOCX_TYPE, docx(boris))]),
             Status.ACCEPTED, ("updated",), members=frozenset({"boris.lah@vrhnika.si"})),
        Case("a list's copy of a reply to the call (List-Id) is never answered",
             mail("Nataša Bizjak <natasa.bizjak@sezana.si>",
                  "Re: [obcine] Poziv k pristopu k mreži komunikatorjev", "Pošiljam izjavo.",
                  attachments=[("izjava.pdf", "application/pdf", pdf(nat))],
                  headers=list_headers),
             Status.IGNORED, ("auto_submitted",)),
        Case("invitation to another event",
             mail("Eva Kos <eva.kos@skupnostobcin.si>", "Prijava na seminar o komuniciranju",
                  "Prijave na seminar o kriznem komuniciranju zbiramo do 20. 2."),
             Status.IGNORED, ("not_application",)),
        Case("three colleagues' declarations, one a scan",
             mail("Urška Golob <urska.golob@novo-mesto.si>", "Izjave o pristopu - MO Novo mesto",
                  "Pošiljam izjave treh sodelavcev.",
                  attachments=[("izjava_golob.docx", DOCX_TYPE, docx(team[0])),
                               ("izjava_kern.pdf", "application/pdf", pdf(team[1])),
                               ("sken_izjava.pdf", "application/pdf", image_pdf())]),
             Status.NEEDS_REVIEW, ("unreadable_attachment",)),
        Case("after the deadline, before the close",
             mail("Andrej Kralj <andrej.kralj@litija.si>", "Izjava o pristopu", "V prilogi.",
                  attachments=[("izjava.docx", DOCX_TYPE, docx(late))]),
             Status.NEEDS_REVIEW, ("late",), received_at=datetime(2021, 2, 11, 8, tzinfo=LJ)),
        Case("after the close",
             mail("Andrej Kralj <andrej.kralj@litija.si>", "Izjava o pristopu", "V prilogi.",
                  attachments=[("izjava.docx", DOCX_TYPE, docx(late))]),
             Status.REJECTED, ("closed",), received_at=datetime(2021, 2, 18, 10, tzinfo=LJ)),
        Case("body declaration of Zavod za turizem Bohinj, founder not named",
             mail("Klemen Sodja <klemen.sodja@bohinj.si>", "Izjava o pristopu", bohinj),
             Status.ACCEPTED, ()),
        Case("a company",
             mail("Jure Mali <jure@komunikacije.si>", "Izjava o pristopu k mreži komunikatorjev",
                  "Kot zunanji izvajalec za več občin bi se rad pridružil.",
                  attachments=[("izjava.docx", DOCX_TYPE, docx(company))]),
             Status.REJECTED, ("not_eligible",)),
        Case("in English, from Piran",
             mail("Giulia Bonifacio <giulia.bonifacio@piran.si>",
                  "Application to join the network of communicators",
                  "Please find attached my signed declaration.",
                  attachments=[("declaration.pdf", "application/pdf", pdf(piran))]),
             Status.ACCEPTED, ()),
        Case("subject 'izjava', empty body, the PDF attached",
             mail("rok.zupancic@medvode.si", "izjava", "",
                  attachments=[("scan0001.pdf", "application/pdf", pdf(medvode))]),
             Status.ACCEPTED, ()),
        Case("'Hvala za potrditev!' in answer to our reply",
             mail(MATEJA, "Re: Izjava o pristopu", "Hvala za potrditev!\nMateja",
                  headers={"In-Reply-To": OUR_REPLY_ID}),
             Status.IGNORED, ("not_application",)),
    ]


@pytest.mark.parametrize("case", _cases(), ids=lambda case: case.name)
def test_the_coordinators_mailbox(case: Case) -> None:
    facts = replace(FACTS, received_at=case.received_at, member_emails=case.members)
    decision = run(case.raw, facts)
    assert (decision.status, decision.reasons) == (case.status, case.reasons)
    assert decision.reply is (case.status != Status.IGNORED)


def test_colleague_sending_a_spreadsheet_about_the_network_is_not_an_application() -> None:
    """A colleague's list of applicants (XLSX, which intake does not read) is hers to read,
    not a declaration to review with an automatic reply to the colleague."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as sheet:
        sheet.writestr("[Content_Types].xml", "<Types/>")
        sheet.writestr("xl/workbook.xml", "<workbook/>")
    decision = run(mail("Marko Horvat <marko.horvat@skupnostobcin.si>",
                        "Seznam prijav v mrežo komunikatorjev", "Metka, v prilogi seznam.",
                        attachments=[("prijave.xlsx", "application/vnd.openxmlformats-"
                                      "officedocument.spreadsheetml.sheet", buffer.getvalue())]))
    assert (decision.status, decision.reasons) == (Status.IGNORED, ("not_application",))
