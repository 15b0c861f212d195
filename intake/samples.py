"""Sample applications: the official forms filled as applicants fill them, and a mailbox
of messages for `intake demo` and the end-to-end tests.

DOCX: type into the value cells, tick the checkbox content controls (w14:checked val=1 and
the glyph swapped to ☒, exactly what Word writes on a click). PDF: set the AcroForm values
with pypdf (text /V, radio group /V and the kid's /AS, checkbox /V /Yes).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pypdf
from docx import Document
from docx.oxml.ns import qn

from intake.forms import CHECKED, blank_docx, blank_pdf, option_tag
from parsers.model import FIELDS, FIELDS_BY_NAME, FieldValue

W14_VAL = qn("w14:val")


def _text(fields: Mapping[str, FieldValue], name: str) -> str:
    value = fields.get(name, "")
    return value if isinstance(value, str) else ""


def _tags(fields: Mapping[str, FieldValue]) -> set[str]:
    """The w:tag of every checkbox that must be ticked."""
    tags: set[str] = set()
    for spec in FIELDS:
        value = fields.get(spec.name)
        if spec.kind == "choice" and isinstance(value, str):
            tags.add(option_tag(spec, value))
        elif spec.kind == "set" and isinstance(value, list):
            tags.update(option_tag(spec, item) for item in value)
        elif spec.kind == "checkbox" and value is True:
            tags.add(option_tag(spec, ""))
    return tags


def fill_docx(fields: Mapping[str, FieldValue], *, blank: bytes | None = None) -> bytes:
    """The official DOCX with `fields` typed and ticked in."""
    document = Document(io.BytesIO(blank if blank is not None else blank_docx()))
    table = document.tables[0]
    cells = {row.cells[0].text.strip(): row.cells[1] for row in table.rows}
    for spec in FIELDS:
        if spec.kind in ("text", "email") and spec.label in cells:
            value = _text(fields, spec.name)
            if value:
                cells[spec.label].paragraphs[0].add_run(value)
    ticked = _tags(fields)
    body = document.element.body
    for sdt in body.iter(qn("w:sdt")):
        tag = sdt.find(f"{qn('w:sdtPr')}/{qn('w:tag')}")
        checked = sdt.find(f"{qn('w:sdtPr')}/{qn('w14:checkbox')}/{qn('w14:checked')}")
        if tag is None or checked is None or tag.get(qn("w:val")) not in ticked:
            continue
        checked.set(W14_VAL, "1")
        for text in sdt.iter(qn("w:t")):
            text.text = CHECKED
        if tag.get(qn("w:val")) == "interes_drugo" and _text(fields, "interests_other"):
            paragraph = sdt.getparent()
            run = paragraph.makeelement(qn("w:r"), {})
            t = run.makeelement(qn("w:t"), {})
            t.text = " " + _text(fields, "interests_other")
            t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            run.append(t)
            paragraph.append(run)
    place = _text(fields, "place_date")
    if place:
        label = FIELDS_BY_NAME["place_date"].label + ":"
        for paragraph in document.paragraphs:
            if paragraph.text.strip().startswith(label):
                # Typed after the label, before the dotted tab leader.
                tab_run = paragraph.runs[-1]
                new = paragraph.add_run(place)
                tab_run._r.addprevious(new._r)
                break
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def fill_pdf(fields: Mapping[str, FieldValue], *, blank: bytes | None = None) -> bytes:
    """The official PDF with `fields` set as AcroForm values, as a PDF viewer saves them."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(blank or blank_pdf())))
    values: dict[str, str] = {}
    for spec in FIELDS:
        value = fields.get(spec.name)
        if spec.kind in ("text", "email") and isinstance(value, str) and value:
            values[spec.acroform] = value
        elif spec.kind == "choice" and isinstance(value, str):
            values[spec.acroform] = "/" + value
        elif spec.kind == "set" and isinstance(value, list):
            for choice in spec.choices:
                if choice.value in value and choice.acroform:
                    values[choice.acroform] = "/Yes"
        elif spec.kind == "checkbox" and value is True:
            values[spec.acroform] = "/Yes"
    page = writer.pages[0]
    writer.update_page_form_field_values(page, values, auto_regenerate=False)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- a mailbox of sample messages ---------------------------------------------------------

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
COORDINATOR = "metka.lasic@skupnostobcin.si"
_ZONE = ZoneInfo("Europe/Ljubljana")


@dataclass(frozen=True)
class Sample:
    """One message of the sample mailbox and what intake should make of it."""

    name: str
    raw: bytes
    received_at: datetime  # the INTERNALDATE to APPEND with
    status: str
    reasons: tuple[str, ...]
    sender: str  # the address a reply goes to, if any
    flags: tuple[bytes, ...] = ()

    @property
    def answered(self) -> bool:
        return self.status != "ignored"

    @property
    def message_id(self) -> str:
        for line in self.raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                return line.split(b":", 1)[1].strip().decode()
        return ""


def _at(day: int, hour: int, minute: int = 0, month: int = 2) -> datetime:
    return datetime(2021, month, day, hour, minute, tzinfo=_ZONE)


def mail(sender: str, subject: str, body: str, *, number: int, when: datetime,
         attachments: Sequence[tuple[str, str, bytes]] = (),
         headers: Sequence[tuple[str, str]] = (), reply_to: str | None = None,
         prefix: str = "sample") -> bytes:
    """A message to the coordinator, as the demo, the tests and the benchmark send them."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = COORDINATOR
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = f"<{prefix}-{number}@{sender.rpartition('@')[2].rstrip('>')}>"
    if reply_to:
        message["Reply-To"] = reply_to
    for name, value in headers:
        message[name] = value
    message.set_content(body)
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes(policy=SMTP)


def _person(name: str, email: str, organization: str, role: str, *,
            organization_type: str = "obcina", municipality: str = "",
            job_title: str = "višja svetovalka za odnose z javnostmi",
            consent: bool = True, **more: FieldValue) -> dict[str, FieldValue]:
    fields: dict[str, FieldValue] = {
        "full_name": name, "job_title": job_title, "email": email,
        "organization_type": organization_type, "organization": organization, "role": role,
        "consent": consent, "experience": "beginner",
        "interests": ["media_relations", "social_media"], "place_date": "Kranj, 3. 2. 2021",
    }
    if municipality:
        fields["municipality"] = municipality
    fields.update(more)
    return {key: value for key, value in fields.items() if value not in ("", None)}


def _body_declaration(fields: Mapping[str, FieldValue]) -> str:
    labels = {spec.name: spec.label for spec in FIELDS}
    lines = ["IZJAVA O PRISTOPU K MREŽI KOMUNIKATORJEV V OBČINAH IN OBČINSKIH JAVNIH ZAVODIH", ""]
    choices = {"obcina": "občina", "mayor": "župan", "beginner": "začetnik"}
    for name in ("full_name", "job_title", "email", "phone", "organization_type",
                 "organization", "role", "experience"):
        value = fields.get(name)
        if isinstance(value, str) and value:
            lines.append(f"{labels[name]}: {choices.get(value, value)}")
    if fields.get("consent"):
        lines.append("Soglasje: [x] soglašam")
    return "\n".join(lines)


def sample_mailbox() -> list[Sample]:
    """About twenty messages: every status and reason code of spec/interface.md, with the
    kinds of mail a coordinator's inbox also holds (a colleague's note, a newsletter, an
    out-of-office reply), in the order they arrive."""
    docx, pdf = fill_docx, fill_pdf
    samples: list[Sample] = []

    def add(name: str, raw: bytes, when: datetime, status: str, reasons: Sequence[str],
            sender: str, flags: Sequence[bytes] = ()) -> None:
        samples.append(Sample(name, raw, when, status, tuple(reasons), sender, tuple(flags)))

    ana = _person("Ana Novak", "ana.novak@kranj.si", "Mestna občina Kranj", "pr_staff")
    when = _at(1, 9, 12)
    add("accepted-docx", mail("Ana Novak <ana.novak@kranj.si>",
                               "Izjava o pristopu k mreži komunikatorjev",
                               "Pozdravljeni,\n\nv prilogi pošiljam izpolnjeno izjavo.\n\nAna",
                               number=1, when=when,
                               attachments=[("izjava-novak.docx", DOCX_TYPE, docx(ana))]),
        when, "accepted", [], "ana.novak@kranj.si")

    knjiznica = _person("Bojan Kovač", "bojan.kovac@knjiznica-ptuj.si",
                        "Knjižnica Ivana Potrča Ptuj", "institution_pr",
                        organization_type="javni_zavod", municipality="Ptuj",
                        job_title="bibliotekar, odnosi z javnostmi")
    when = _at(2, 14, 5)
    add("accepted-pdf", mail("Bojan Kovač <bojan.kovac@knjiznica-ptuj.si>",
                              "Pristop k mreži komunikatorjev", "Lep pozdrav, Bojan Kovač",
                              number=2, when=when,
                              attachments=[("Izjava.pdf", "application/pdf", pdf(knjiznica))]),
        when, "accepted", [], "bojan.kovac@knjiznica-ptuj.si")

    mayor = _person("Jože Župan", "zupan@kostel.si", "Občina Kostel", "mayor",
                    job_title="župan")
    when = _at(3, 8, 40)
    add("accepted-body", mail("Jože Župan <zupan@kostel.si>", "Izjava o pristopu",
                               _body_declaration(mayor) + "\n\nLep pozdrav", number=3,
                               when=when),
        when, "accepted", [], "zupan@kostel.si")

    colleague = mail("Marko Horvat <marko.horvat@skupnostobcin.si>", "Sestanek v četrtek",
                      "Metka, ali lahko sestanek prestaviva na četrtek ob 10h?\n\nMarko",
                      number=4, when=_at(3, 9, 30))
    add("colleague-note", colleague, _at(3, 9, 30), "ignored", ["not_application"],
        "", flags=[b"\\Seen", b"\\Flagged"])

    newsletter = mail("Novice SOS <novice@skupnostobcin.si>", "Novice SOS, februar 2021",
                       "Preberite novice tega tedna ...", number=5, when=_at(4, 7, 0),
                       headers=[("List-Unsubscribe", "<mailto:odjava@skupnostobcin.si>"),
                                ("Precedence", "bulk")])
    add("newsletter", newsletter, _at(4, 7, 0), "ignored", ["auto_submitted"], "")

    invoice = mail("Računovodstvo <racuni@dobavitelj.si>", "Račun 2021-0042",
                    "V prilogi vam pošiljamo račun za januar.", number=6, when=_at(4, 11, 0),
                    attachments=[("racun.pdf", "application/pdf",
                                  _typed_pdf(["RAČUN 2021-0042", "Znesek: 120,00 EUR"]))])
    add("invoice", invoice, _at(4, 11, 0), "ignored", ["not_application"], "")

    missing = _person("Petra Zupan", "", "Občina Bled", "pr_staff", consent=False)
    when = _at(5, 10, 0)
    add("incomplete-missing", mail("Petra Zupan <petra.zupan@bled.si>",
                                    "Izjava o pristopu k mreži komunikatorjev",
                                    "Pošiljam izjavo.", number=7, when=when,
                                    attachments=[("izjava.docx", DOCX_TYPE, docx(missing))]),
        when, "incomplete", ["missing:email", "missing:consent"], "petra.zupan@bled.si")

    when = _at(5, 12, 0)
    add("incomplete-no-declaration",
        mail("Tina Kralj <tina.kralj@velenje.si>", "Prijava v mrežo komunikatorjev",
              "Pozdravljeni, rada bi se pridružila mreži komunikatorjev. Kaj moram storiti?",
              number=8, when=when),
        when, "incomplete", ["no_declaration"], "tina.kralj@velenje.si")

    company = _person("Luka Medved", "luka@medved-pr.si", "Medved PR d.o.o.", "pr_staff")
    when = _at(6, 9, 0)
    add("rejected-not-eligible", mail("Luka Medved <luka@medved-pr.si>",
                                       "Izjava o pristopu k mreži", "V prilogi.",
                                       number=9, when=when,
                                       attachments=[("izjava.docx", DOCX_TYPE, docx(company))]),
        when, "rejected", ["not_eligible"], "luka@medved-pr.si")

    atlantida = _person("Nina Golob", "nina.golob@atlantida.si", "Občina Atlantida",
                        "pr_staff")
    when = _at(6, 13, 0)
    add("review-unknown-municipality",
        mail("Nina Golob <nina.golob@atlantida.si>", "Izjava o pristopu", "Lp, Nina",
              number=10, when=when,
              attachments=[("izjava.pdf", "application/pdf", pdf(atlantida))]),
        when, "needs_review", ["unknown_municipality"], "nina.golob@atlantida.si")

    mismatch = _person("Urban Zajc", "urban.zajc@zavod-cerkno.si", "Javni zavod Cerkno",
                       "director", organization_type="javni_zavod", municipality="Cerkno",
                       job_title="direktor")
    when = _at(7, 10, 0)
    add("review-role-mismatch",
        mail("Urban Zajc <urban.zajc@zavod-cerkno.si>", "Izjava o pristopu k mreži",
              "Pošiljam izjavo.", number=11, when=when,
              attachments=[("izjava.docx", DOCX_TYPE, docx(mismatch))]),
        when, "needs_review", ["role_mismatch"], "urban.zajc@zavod-cerkno.si")

    when = _at(7, 15, 0)
    add("review-unreadable",
        mail("Maja Kos <maja.kos@celje.si>", "Izjava o pristopu k mreži komunikatorjev",
              "V prilogi izjava.", number=12, when=when,
              attachments=[("izjava.pdf", "application/pdf", b"%PDF-1.7\n% broken\n1 0 obj <<")]),
        when, "needs_review", ["unreadable_attachment"], "maja.kos@celje.si")

    when = _at(8, 7, 30)
    add("out-of-office",
        mail("Ana Novak <ana.novak@kranj.si>", "Odsotnost: Izjava o pristopu k mreži",
              "Do 15. 2. sem odsotna.", number=13, when=when,
              headers=[("Auto-Submitted", "auto-replied")]),
        when, "ignored", ["auto_submitted"], "")

    ana_again = dict(ana, job_title="vodja kabineta župana")
    when = _at(8, 11, 0)
    add("accepted-updated",
        mail("Ana Novak <ana.novak@kranj.si>", "Popravljena izjava o pristopu",
              "Pošiljam popravljeno izjavo.", number=14, when=when,
              attachments=[("izjava-novak-2.docx", DOCX_TYPE, docx(ana_again))]),
        when, "accepted", ["updated"], "ana.novak@kranj.si")

    team = [
        _person("Eva Breznik", "eva.breznik@maribor.si", "Mestna občina Maribor", "pr_staff"),
        _person("Rok Petek", "rok.petek@maribor.si", "Mestna občina Maribor", "director",
                job_title="direktor občinske uprave"),
        _person("Sara Vidmar", "sara.vidmar@maribor.si", "Mestna občina Maribor",
                "other_employee", job_title="svetovalka"),
    ]
    when = _at(9, 9, 15)
    add("three-declarations",
        mail("Eva Breznik <eva.breznik@maribor.si>", "Izjave o pristopu - MO Maribor",
              "Pošiljam izjave treh sodelavcev.", number=15, when=when,
              attachments=[(f"izjava-{i}.docx", DOCX_TYPE, docx(person))
                           for i, person in enumerate(team, 1)]),
        when, "accepted", [], "eva.breznik@maribor.si")

    forwarded_inner = mail("Irena Mlakar <irena.mlakar@piran.si>", "Izjava o pristopu",
                            "V prilogi.", number=16, when=_at(9, 8, 0),
                            attachments=[("izjava.pdf", "application/pdf", pdf(_person(
                                "Irena Mlakar", "irena.mlakar@piran.si", "Občina Piran",
                                "pr_staff")))])
    forward = EmailMessage()
    forward["From"] = "Tajništvo Občine Piran <tajnistvo@piran.si>"
    forward["To"] = COORDINATOR
    forward["Subject"] = "Fwd: Izjava o pristopu"
    forward["Date"] = format_datetime(_at(9, 12, 0))
    forward["Message-ID"] = "<sample-17@piran.si>"
    forward["Reply-To"] = "irena.mlakar@piran.si"
    forward.set_content("Posredujemo izjavo naše sodelavke.")
    forward.add_attachment(message_from_bytes(forwarded_inner, policy=SMTP))
    add("forwarded", forward.as_bytes(policy=SMTP), _at(9, 12, 0), "accepted", [],
        "irena.mlakar@piran.si")

    late = _person("Gregor Rozman", "gregor.rozman@jesenice.si", "Občina Jesenice",
                   "pr_staff")
    when = _at(12, 10, 0)
    add("review-late", mail("Gregor Rozman <gregor.rozman@jesenice.si>",
                             "Izjava o pristopu (z zamudo)", "Opravičujem se za zamudo.",
                             number=18, when=when,
                             attachments=[("izjava.docx", DOCX_TYPE, docx(late))]),
        when, "needs_review", ["late"], "gregor.rozman@jesenice.si")

    closed = _person("Mojca Hribar", "mojca.hribar@logatec.si", "Občina Logatec", "pr_staff")
    when = _at(17, 9, 0)
    add("rejected-closed", mail("Mojca Hribar <mojca.hribar@logatec.si>",
                                 "Izjava o pristopu", "Pošiljam izjavo.", number=19, when=when,
                                 attachments=[("izjava.pdf", "application/pdf", pdf(closed))]),
        when, "rejected", ["closed"], "mojca.hribar@logatec.si")
    return samples


def _typed_pdf(lines: Sequence[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    y = 800
    for line in lines:
        page.drawString(72, y, line)
        y -= 18
    page.save()
    return buffer.getvalue()
