"""Build a corpus of realistic declaration documents, each with the result a parser must give.

    python -m tests.corpus.build OUTDIR [--no-libreoffice]

writes every file into OUTDIR and prints one line per fixture, to open and look at.

Conventions of the expectations (parsers/model.py):

* `expected_fields` holds only the filled fields, under their machine names; `consent` is
  always present (a bool) in a declaration; interests are listed in INTERESTS order;
  the municipality is as written in the document (the pipeline normalises it later).
  `expected_problems` is then `missing_problems(expected_fields)`, spelled out literally for
  the fixtures that are about missing data.
* `expected_fields is None`: the file cannot be read; parse_document returns exactly one
  Declaration with empty fields and problems ("unreadable_attachment",).
* `expected_fields == {}` and no problems: readable, but not a declaration; parse_document
  returns [] (parse_body returns None for a body fixture).
* `kind == "body"` fixtures are .eml messages whose text (and HTML) part goes to parse_body.
* `needs_libreoffice` fixtures are DOCX fixtures printed to PDF by LibreOffice; they are
  only built when `libreoffice=True`.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import BinaryIO, Literal

import pypdf
from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from intake.forms import blank_docx
from parsers.model import (
    CONSENT_TEXT,
    FIELDS,
    FIELDS_BY_NAME,
    INTERESTS,
    TITLE,
    UNREADABLE_ATTACHMENT,
    FieldValue,
    missing_problems,
)
from tests.corpus.fill import fill_docx, fill_pdf

Fields = dict[str, FieldValue]


@dataclass(frozen=True)
class Fixture:
    name: str
    path: Path
    expected_fields: Fields | None
    expected_problems: tuple[str, ...]
    kind: Literal["document", "body"] = "document"
    needs_libreoffice: bool = False
    note: str = ""


UNREADABLE = (UNREADABLE_ATTACHMENT,)


def decl(**values: FieldValue) -> Fields:
    """A declaration's expected fields, in FIELDS order; consent defaults to given."""
    values.setdefault("consent", True)
    interests = values.get("interests")
    if isinstance(interests, list):
        order = [choice.value for choice in INTERESTS]
        values["interests"] = sorted(interests, key=order.index)
    unknown = set(values) - set(FIELDS_BY_NAME)
    assert not unknown, unknown
    return {spec.name: values[spec.name] for spec in FIELDS if spec.name in values}


# --- the applicants ---------------------------------------------------------------------

KRANJ = decl(
    full_name="Ana Novak", job_title="Višja svetovalka za odnose z javnostmi",
    email="ana.novak@kranj.si", phone="04 237 31 00", organization_type="obcina",
    organization="Mestna občina Kranj", address="Slovenski trg 1, 4000 Kranj",
    role="pr_staff", experience="experienced",
    interests=["media_relations", "social_media", "crisis"], place_date="Kranj, 3. 2. 2021",
)
ZAVOD_MARIBOR = decl(
    full_name="Tjaša Kovačič", job_title="Koordinatorka komuniciranja",
    email="tjasa.kovacic@maribor-pohorje.si", phone="02 234 66 11",
    organization_type="javni_zavod", organization="Zavod za turizem Maribor - Pohorje",
    municipality="Maribor", address="Partizanska cesta 6a, 2000 Maribor",
    role="institution_pr", experience="experienced",
    interests=["social_media", "web", "other"], interests_other="video produkcija",
    place_date="Maribor, 1. 2. 2021",
)
KOSTEL = decl(
    full_name="Jože Šercer", job_title="župan", email="zupan@kostel.si",
    organization_type="obcina", organization="Občina Kostel", role="mayor",
    experience="beginner", interests=["media_relations", "public_speaking"],
    place_date="Vas, 30. 1. 2021",
)
LJUTOMER = decl(
    full_name="Petra Žnidarič", job_title="Svetovalka", email="petra.znidaric@ljutomer.si",
    organization_type="obcina", organization="Občina Ljutomer", role="other_employee",
)
PIRAN = decl(
    full_name="Marko Bržan", job_title="direktor občinske uprave", email="marko.brzan@piran.si",
    phone="05 671 03 00", organization_type="obcina", organization="Občina Piran",
    address="Tartinijev trg 2, 6330 Piran", role="director", experience="experienced",
    interests=["crisis", "internal"], place_date="Piran, 5. 2. 2021",
)
PTUJ_LIBRARY = decl(
    full_name="Urška Čeh", job_title="bibliotekarka", email="urska.ceh@ptuj.si",
    organization_type="javni_zavod", organization="Knjižnica Ivana Potrča Ptuj",
    municipality="Ptuj", address="Prešernova ulica 33-35, 2250 Ptuj",
    role="other_employee", experience="beginner",
    interests=["writing", "web"], place_date="Ptuj, 8. 2. 2021",
)
SEVNICA = decl(
    full_name="Gregor Šinkovec", job_title="Svetovalec za stike z javnostmi",
    email="gregor.sinkovec@obcina-sevnica.si", phone="07 81 61 200",
    organization_type="obcina", organization="Občina Sevnica",
    address="Glavni trg 19a, 8290 Sevnica",
    role="pr_staff", experience="experienced",
    interests=[c.value for c in INTERESTS], interests_other="komuniciranje v angleščini",
    place_date="Sevnica, 2. 2. 2021",
)
TRZIC_ZAVOD = decl(
    full_name="Maja Bohinc", job_title="Vodja marketinga", email="maja.bohinc@trzic.si",
    organization_type="javni_zavod", organization="Tržiški muzej", municipality="Tržič",
    role="institution_pr",
)
CELJE = decl(
    full_name="Simona Jurkošek", job_title="Predstavnica za odnose z javnostmi",
    email="simona.jurkosek@celje.si", phone="03 42 65 600", organization_type="obcina",
    organization="Mestna občina Celje", address="Trg celjskih knezov 9, 3000 Celje",
    role="pr_staff", experience="experienced", interests=["media_relations", "writing"],
    place_date="Celje, 4. 2. 2021",
)
IDRIJA_ZAVOD = decl(
    full_name="Rok Mlakar", job_title="strokovni sodelavec", email="rok.mlakar@cudhg-idrija.si",
    organization_type="javni_zavod",
    organization="Center za upravljanje z dediščino živega srebra Idrija",
    municipality="Idrija", role="institution_pr", experience="beginner",
    interests=["social_media"], place_date="Idrija, 29. 1. 2021",
)
IVANCNA_GORICA = decl(  # typed without diacritics, values too
    full_name="Spela Kosec", job_title="visja referentka", email="spela.kosec@ivancna-gorica.si",
    phone="01 781 21 00", organization_type="obcina", organization="Obcina Ivancna Gorica",
    address="Sokolska ulica 8, 1295 Ivancna Gorica", role="pr_staff", experience="beginner",
    interests=["media_relations", "writing", "public_speaking"],
    place_date="Ivancna Gorica, 2. 2. 2021",
)
VELENJE = decl(
    full_name="Klemen Pečnik", job_title="Vodja kabineta župana", email="klemen.pecnik@velenje.si",
    phone="03 896 16 00", organization_type="obcina", organization="Mestna občina Velenje",
    role="other_employee", experience="experienced", interests=["crisis", "web"],
    place_date="Velenje, 28. 1. 2021",
)
KOPER = decl(
    full_name="Nataša Vatovec", job_title="Svetovalka za informiranje",
    email="natasa.vatovec@koper.si", organization_type="obcina",
    organization="Mestna občina Koper", address="Verdijeva ulica 10, 6000 Koper",
    role="pr_staff", experience="experienced", interests=["media_relations"],
    place_date="Koper, 4. 2. 2021",
)
NOVO_MESTO = decl(
    full_name="Barbara Bukovec", job_title="direktorica občinske uprave",
    email="barbara.bukovec@novomesto.si", phone="07 39 39 200", organization_type="obcina",
    organization="Mestna občina Novo mesto", address="Seidlova cesta 1, 8000 Novo mesto",
    role="director", experience="experienced", interests=["crisis", "public_speaking"],
    place_date="Novo mesto, 3. 2. 2021",
)
JESENICE = decl(
    full_name="Luka Smolej", job_title="Samostojni strokovni sodelavec",
    email="luka.smolej@jesenice.si", organization_type="javni_zavod",
    organization="Gledališče Toneta Čufarja Jesenice", municipality="Jesenice",
    role="institution_pr", experience="beginner", interests=["social_media", "writing"],
    place_date="Jesenice, 6. 2. 2021",
)
RADOVLJICA = decl(
    full_name="Mojca Kunšič", job_title="višja svetovalka", email="mojca.kunsic@radovljica.si",
    phone="04 537 23 00", organization_type="obcina", organization="Občina Radovljica",
    address="Gorenjska cesta 19, 4240 Radovljica", role="pr_staff", experience="experienced",
    interests=["web", "internal"], place_date="Radovljica, 1. 2. 2021",
)
VRHNIKA = decl(
    full_name="Tina Oblak", job_title="Direktorica", email="tina.oblak@vrhnika.si",
    organization_type="obcina", organization="Občina Vrhnika", role="director",
    experience="beginner", interests=["media_relations", "crisis"],
    place_date="Vrhnika, 9. 2. 2021",
)
BREZICE = decl(
    full_name="Ivan Molan", job_title="župan", email="obcina.brezice@brezice.si",
    phone="07 62 05 500", organization_type="obcina", organization="Občina Brežice",
    role="mayor", experience="experienced", interests=["public_speaking"],
)
DOMZALE = decl(
    full_name="Sara Zupančič", job_title="Strokovna sodelavka v kabinetu",
    email="sara.zupancic@domzale.si", organization_type="javni_zavod",
    organization="Kulturni dom Franca Bernika Domžale", municipality="Domžale",
    role="institution_pr", experience="experienced",
    interests=["social_media", "web", "other"], interests_other="fotografija",
    place_date="Domžale, 3. 2. 2021",
)
SLOVENJ_GRADEC = decl(
    full_name="Andrej Gologranc", job_title="svetovalec", email="andrej.gologranc@slovenjgradec.si",
    organization_type="obcina", organization="Mestna občina Slovenj Gradec",
    role="other_employee", experience="beginner",
    interests=["media_relations", "social_media", "writing"],
)
BLED = decl(
    full_name="Neža Repe", job_title="Sodelavka za odnose z javnostmi", email="neza.repe@bled.si",
    phone="04 575 01 00", organization_type="obcina", organization="Občina Bled",
    address="Cesta svobode 13, 4260 Bled", role="pr_staff", experience="beginner",
    interests=["crisis"], place_date="Bled, 2. 2. 2021",
)
AJDOVSCINA = decl(
    full_name="Matej Furlan", job_title="Vodja oddelka", email="matej.furlan@ajdovscina.si",
    organization_type="javni_zavod", organization="Lavrič knjižnica Ajdovščina",
    municipality="Ajdovščina", role="other_employee", experience="experienced",
    interests=["internal"], place_date="Ajdovščina, 4. 2. 2021",
)
SKOFJA_LOKA = decl(
    full_name="Polona Tavčar", job_title="svetovalka za odnose z javnostmi",
    email="polona.tavcar@skofjaloka.si", organization_type="obcina",
    organization="Občina Škofja Loka", address="Mestni trg 15, 4220 Škofja Loka",
    role="pr_staff", experience="experienced",
    interests=["media_relations", "crisis", "writing", "public_speaking"],
    place_date="Škofja Loka, 5. 2. 2021",
)
MURSKA_SOBOTA = decl(
    full_name="Dejan Horvat", job_title="Višji svetovalec", email="dejan.horvat@murska-sobota.si",
    phone="02 525 16 00", organization_type="obcina", organization="Mestna občina Murska Sobota",
    role="pr_staff", experience="experienced", interests=["social_media", "web"],
    place_date="Murska Sobota, 3. 2. 2021",
)
NOVA_GORICA = decl(
    full_name="Katja Pahor", job_title="Strokovna sodelavka", email="katja.pahor@nova-gorica.si",
    organization_type="javni_zavod", organization="Goriški muzej", municipality="Nova Gorica",
    role="institution_pr", experience="beginner", interests=["writing", "web"],
    place_date="Nova Gorica, 8. 2. 2021",
)
KAMNIK = decl(
    full_name="Eva Cerar", job_title="Višja svetovalka", email="eva.cerar@kamnik.si",
    phone="01 831 81 00", organization_type="obcina", organization="Občina Kamnik",
    address="Glavni trg 24, 1241 Kamnik", role="pr_staff", experience="experienced",
    interests=["media_relations", "social_media"], place_date="Kamnik, 2. 2. 2021",
)
LENDAVA = decl(
    full_name="Zoltan Kovač", job_title="direktor občinske uprave", email="zoltan.kovac@lendava.si",
    organization_type="obcina", organization="Občina Lendava", role="director",
    experience="experienced", interests=["crisis", "internal"], place_date="Lendava, 5. 2. 2021",
)
TRBOVLJE = decl(
    full_name="Alenka Drnovšek", job_title="Referentka", email="alenka.drnovsek@trbovlje.si",
    organization_type="javni_zavod", organization="Delavski dom Trbovlje", municipality="Trbovlje",
    role="other_employee", experience="beginner", interests=["social_media"],
    place_date="Trbovlje, 1. 2. 2021",
)
POSTOJNA = decl(
    full_name="Nina Kralj", job_title="Svetovalka za odnose z javnostmi",
    email="nina.kralj@postojna.si", phone="05 728 07 00", organization_type="obcina",
    organization="Občina Postojna", role="pr_staff", experience="experienced",
    interests=["media_relations", "crisis"], place_date="Postojna, 3. 2. 2021",
)
LASKO = decl(
    full_name="Boštjan Žužek", job_title="direktor občinske uprave", email="bostjan.zuzek@lasko.si",
    organization_type="obcina", organization="Občina Laško", address="Mestna ulica 2, 3270 Laško",
    role="director", experience="beginner", interests=["public_speaking", "writing"],
)
ZAGORJE = decl(
    full_name="Špela Čebašek", job_title="kustosinja", email="spela.cebasek@zagorje.si",
    organization_type="javni_zavod", organization="Zasavski muzej Trbovlje",
    municipality="Zagorje ob Savi", role="other_employee", experience="beginner",
    interests=["web"], place_date="Zagorje ob Savi, 6. 2. 2021",
)
GROSUPLJE = decl(
    full_name="Maja Zupan", job_title="Svetovalka za stike z javnostmi",
    email="maja.zupan@grosuplje.si", phone="01 788 57 00", organization_type="obcina",
    organization="Občina Grosuplje", role="pr_staff", experience="experienced",
    interests=["media_relations", "social_media", "web"], place_date="Grosuplje, 2. 2. 2021",
)
# Missing data.
NO_EMAIL = decl(
    full_name="Jana Lipovšek", job_title="referentka", organization_type="obcina",
    organization="Občina Žalec", role="pr_staff", experience="beginner",
    place_date="Žalec, 4. 2. 2021",
)
NO_CONSENT = decl(
    full_name="Tomaž Rupnik", job_title="višji svetovalec", email="tomaz.rupnik@logatec.si",
    organization_type="obcina", organization="Občina Logatec", role="pr_staff",
    experience="experienced", interests=["crisis"], consent=False,
)
ZAVOD_NO_MUNICIPALITY = decl(
    full_name="Irena Štrukelj", job_title="Vodja programa", email="irena.strukelj@kd-kocevje.si",
    organization_type="javni_zavod", organization="Zavod za kulturo Kočevje",
    role="institution_pr", experience="beginner",
)
PDF_NO_ROLE = decl(
    full_name="Aleš Kranjc", job_title="svetovalec", email="ales.kranjc@sezana.si",
    organization_type="obcina", organization="Občina Sežana", experience="beginner",
    interests=["social_media"],
)


# --- how options are written by hand ---------------------------------------------------

# The option as an applicant writes it out after the label (gendered, shortened).
WRITTEN_OUT: dict[str, dict[str, str]] = {
    "organization_type": {"obcina": "občina", "javni_zavod": "javni zavod občine"},
    "role": {
        "pr_staff": "strokovna sodelavka za stike z javnostmi v občini",
        "director": "direktorica občinske uprave",
        "mayor": "župan",
        "institution_pr": "zaposlen v javnem zavodu občine, ki opravlja naloge stikov z javnostmi",
        "other_employee": "druga zaposlena v občinski upravi ali javnem zavodu občine",
    },
    "experience": {"beginner": "začetnica", "experienced": "izkušena"},
}


def strip_diacritics(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
    )


def _option_lines(
    spec_name: str, fields: Mapping[str, FieldValue], checked: str, unchecked: str
) -> list[str]:
    """Every option of a choice, set or the consent, each behind its mark."""
    spec = FIELDS_BY_NAME[spec_name]
    value = fields.get(spec_name)
    lines = []
    if spec.kind == "checkbox":
        return [f"{checked if value else unchecked} {CONSENT_TEXT}".strip()]
    for choice in spec.choices:
        chosen = value == choice.value or (isinstance(value, list) and choice.value in value)
        text = choice.label
        if choice.value == "other":
            text += ":"
            if chosen and fields.get("interests_other"):
                text += f" {fields['interests_other']}"
        lines.append(f"{checked if chosen else unchecked} {text}".strip())
    return lines


def _chosen_lines(spec_name: str, fields: Mapping[str, FieldValue]) -> list[str]:
    """Only the chosen options, the others deleted."""
    marked = _option_lines(spec_name, fields, "\x00", "\x01")
    return [line[2:] for line in marked if line.startswith("\x00")]


def _written(spec_name: str, fields: Mapping[str, FieldValue]) -> str:
    value = fields.get(spec_name)
    if spec_name in WRITTEN_OUT:
        assert isinstance(value, str)
        return WRITTEN_OUT[spec_name][value]
    if spec_name == "interests":
        assert isinstance(value, list)
        parts = [c.label for c in INTERESTS if c.value in value and c.value != "other"]
        if "other" in value:
            parts.append("drugo: " + str(fields.get("interests_other", "")))
        return ", ".join(parts)
    raise AssertionError(spec_name)


OptionMode = Literal["marked", "chosen_only", "written"]


def _as_printed(label: str) -> str:
    return label


@dataclass(frozen=True)
class Retype:
    """How an applicant retyped the form."""

    layout: Literal["table", "paragraphs", "one_cell"] = "table"
    options: OptionMode = "marked"
    checked: str = "☒"
    unchecked: str = "☐"
    colon: bool = True
    labels: Callable[[str], str] = _as_printed
    ascii_only: bool = False  # no diacritics anywhere, the values included
    title: bool = True
    wrap: Literal["", "ins", "sdt"] = ""  # values inside tracked insertions / text controls
    consent_mark: str = ""  # for "written": the mark before the consent text


def _rows(fields: Mapping[str, FieldValue], style: Retype) -> list[tuple[str, list[str]]]:
    """(label, value lines) of every table field, as the applicant wrote them."""
    rows = []
    for spec in FIELDS:
        if spec.name in ("interests_other", "place_date"):
            continue
        if spec.kind in ("text", "email"):
            value = fields.get(spec.name, "")
            assert isinstance(value, str)
            lines = [value] if value else []
        elif spec.kind == "checkbox":
            mark = style.consent_mark if style.options == "written" else style.checked
            if style.options == "chosen_only":
                lines = [CONSENT_TEXT] if fields.get("consent") else []
            else:
                lines = [f"{mark if fields.get('consent') else style.unchecked} {CONSENT_TEXT}"
                         .strip()]
        elif style.options == "marked":
            lines = _option_lines(spec.name, fields, style.checked, style.unchecked)
        elif style.options == "chosen_only":
            lines = _chosen_lines(spec.name, fields) or []
        else:
            lines = [_written(spec.name, fields)] if spec.name in fields else []
        rows.append((spec.label, lines))
    return rows


def _transform(text: str, style: Retype) -> str:
    return strip_diacritics(text) if style.ascii_only else text


def _add_value_run(paragraph: object, text: str, style: Retype, ids: Iterable[int]) -> None:
    run = paragraph.add_run(text)  # type: ignore[attr-defined]
    if not style.wrap:
        return
    element = run._r
    if style.wrap == "ins":
        ins = OxmlElement("w:ins")
        ins.set(qn("w:id"), str(next(iter(ids))))
        ins.set(qn("w:author"), "Uporabnik")
        ins.set(qn("w:date"), "2021-02-03T09:14:00Z")
        element.addprevious(ins)
        ins.append(element)
    else:
        sdt = OxmlElement("w:sdt")
        pr = OxmlElement("w:sdtPr")
        identifier = OxmlElement("w:id")
        identifier.set(qn("w:val"), str(next(iter(ids))))
        pr.append(identifier)
        pr.append(OxmlElement("w:text"))
        sdt.append(pr)
        content = OxmlElement("w:sdtContent")
        element.addprevious(sdt)
        content.append(element)
        sdt.append(content)


def retyped_docx(fields: Mapping[str, FieldValue], style: Retype) -> bytes:
    """A declaration retyped by hand in Word, in one of the habits of `style`."""
    document = Document()
    document.styles["Normal"].font.name = "Calibri"
    document.styles["Normal"].font.size = Pt(11)
    ids = iter(range(500, 5000))
    colon = ":" if style.colon else ""
    if style.title:
        paragraph = document.add_paragraph()
        paragraph.add_run(_transform(TITLE, style)).bold = True
    rows = _rows(fields, style)
    if style.layout == "table":
        table = document.add_table(rows=0, cols=2)
        table.style = document.styles["Table Grid"]
        for label, lines in rows:
            cells = table.add_row().cells
            cells[0].paragraphs[0].add_run(_transform(style.labels(label), style) + colon)
            for index, line in enumerate(lines):
                paragraph = cells[1].paragraphs[0] if index == 0 else cells[1].add_paragraph()
                _add_value_run(paragraph, _transform(line, style), style, ids)
    elif style.layout == "one_cell":
        table = document.add_table(rows=0, cols=1)
        table.style = document.styles["Table Grid"]
        for label, lines in rows:
            cell = table.add_row().cells[0]
            head = cell.paragraphs[0]
            head.add_run(_transform(style.labels(label), style) + colon + " ")
            inline = style.options != "marked" or FIELDS_BY_NAME_BY_LABEL[label].kind in (
                "text", "email")
            if len(lines) == 1 and inline:
                _add_value_run(head, _transform(lines[0], style), style, ids)
            else:
                for line in lines:
                    _add_value_run(cell.add_paragraph(), _transform(line, style), style, ids)
    else:
        for label, lines in rows:
            kind = FIELDS_BY_NAME_BY_LABEL[label].kind
            paragraph = document.add_paragraph()
            paragraph.add_run(_transform(style.labels(label), style) + colon + " ")
            if kind in ("text", "email") or style.options != "marked":
                if lines:
                    if len(lines) == 1:
                        _add_value_run(paragraph, _transform(lines[0], style), style, ids)
                    else:
                        for line in lines:
                            _add_value_run(document.add_paragraph(), _transform(line, style),
                                           style, ids)
            else:
                for line in lines:
                    _add_value_run(document.add_paragraph(), _transform(line, style), style, ids)
    document.add_paragraph()
    place = fields.get("place_date")
    paragraph = document.add_paragraph()
    paragraph.add_run(_transform(style.labels("Kraj in datum"), style) + colon + " ")
    if isinstance(place, str) and place:
        _add_value_run(paragraph, _transform(place, style), style, ids)
    document.add_paragraph(_transform(style.labels("Podpis"), style) + colon + " ____________")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


FIELDS_BY_NAME_BY_LABEL = {spec.label: spec for spec in FIELDS}


def _ascii_fields(fields: Fields) -> Fields:
    return {k: strip_diacritics(v) if isinstance(v, str) else v for k, v in fields.items()}


# --- legacy Word form fields ------------------------------------------------------------

def _legacy_runs(paragraph: object, kind: Literal["text", "check"], value: FieldValue | None,
                 name: str, checked_element: bool) -> None:
    """A legacy FORMTEXT / FORMCHECKBOX field, as Word 97-2003 forms and protected forms keep."""
    p = paragraph._p  # type: ignore[attr-defined]

    def run_with(child: object) -> None:
        run = OxmlElement("w:r")
        run.append(child)
        p.append(run)

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    data = OxmlElement("w:ffData")
    name_el = OxmlElement("w:name")
    name_el.set(qn("w:val"), name[:20])
    data.append(name_el)
    data.append(OxmlElement("w:enabled"))
    calc = OxmlElement("w:calcOnExit")
    calc.set(qn("w:val"), "0")
    data.append(calc)
    if kind == "check":
        box = OxmlElement("w:checkBox")
        box.append(OxmlElement("w:sizeAuto"))
        default = OxmlElement("w:default")
        if checked_element:
            default.set(qn("w:val"), "0")
            box.append(default)
            if value:
                box.append(OxmlElement("w:checked"))
        else:
            default.set(qn("w:val"), "1" if value else "0")
            box.append(default)
        data.append(box)
    else:
        data.append(OxmlElement("w:textInput"))
    begin.append(data)
    run_with(begin)
    instr = OxmlElement("w:instrText")
    instr.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    instr.text = " FORMCHECKBOX " if kind == "check" else " FORMTEXT "
    run_with(instr)
    if kind == "text":
        separate = OxmlElement("w:fldChar")
        separate.set(qn("w:fldCharType"), "separate")
        run_with(separate)
        text = OxmlElement("w:t")
        text.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        # An untouched FORMTEXT shows five en spaces.
        text.text = str(value) if value else "\u2002" * 5
        run_with(text)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def legacy_docx(fields: Mapping[str, FieldValue], *, checked_element: bool) -> bytes:
    """The form as a Word 2003 protected form: FORMTEXT for values, FORMCHECKBOX for marks."""
    document = Document()
    document.add_paragraph().add_run(TITLE).bold = True
    table = document.add_table(rows=0, cols=2)
    table.style = document.styles["Table Grid"]
    for spec in FIELDS:
        if spec.name in ("interests_other", "place_date"):
            continue
        label_cell, value_cell = table.add_row().cells
        label_cell.paragraphs[0].add_run(spec.label + ":")
        value = fields.get(spec.name)
        if spec.kind in ("text", "email"):
            _legacy_runs(value_cell.paragraphs[0], "text", value or "", spec.acroform,
                         checked_element)
        elif spec.kind == "checkbox":
            paragraph = value_cell.paragraphs[0]
            _legacy_runs(paragraph, "check", bool(value), spec.acroform, checked_element)
            paragraph.add_run(" " + CONSENT_TEXT)
        else:
            for index, choice in enumerate(spec.choices):
                paragraph = (value_cell.paragraphs[0] if index == 0
                             else value_cell.add_paragraph())
                chosen = value == choice.value or (
                    isinstance(value, list) and choice.value in value)
                _legacy_runs(paragraph, "check", chosen, choice.acroform or choice.value,
                             checked_element)
                paragraph.add_run(" " + choice.label + (":" if choice.value == "other" else ""))
                if choice.value == "other":
                    _legacy_runs(paragraph, "text", fields.get("interests_other", ""),
                                 "interes_drugo_besedilo", checked_element)
    paragraph = document.add_paragraph()
    paragraph.add_run("Kraj in datum: ")
    _legacy_runs(paragraph, "text", fields.get("place_date", ""), "kraj_datum", checked_element)
    document.add_paragraph("Podpis: ")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --- typed PDFs ------------------------------------------------------------------------

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


def _pdf_fonts() -> tuple[str, str]:
    regular, bold = _DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf"
    if regular.is_file() and bold.is_file():
        if "CorpusSans" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("CorpusSans", str(regular)))
            pdfmetrics.registerFont(TTFont("CorpusSans-Bold", str(bold)))
        return "CorpusSans", "CorpusSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def typed_pdf(rows: Sequence[tuple[str, Sequence[str]]], *, title: str = TITLE,
              two_columns: bool = True, footer: Sequence[str] = ()) -> bytes:
    """A printed, typed form: labels left, values right (or `label: value` lines)."""
    regular, bold = _pdf_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    width, height = A4
    y = height - 60
    for line in simpleSplit(title, bold, 11, width - 120):
        canvas.setFont(bold, 11)
        canvas.drawString(60, y, line)
        y -= 15
    y -= 12
    for label, values in rows:
        if two_columns:
            canvas.setFont(bold, 9.5)
            label_lines = simpleSplit(label, bold, 9.5, 160)
            for index, line in enumerate(label_lines):
                canvas.drawString(60, y - index * 12, line)
            value_y = y
            canvas.setFont(regular, 9.5)
            for value in values:
                for line in simpleSplit(value, regular, 9.5, width - 300):
                    canvas.drawString(230, value_y, line)
                    value_y -= 12
            y = min(y - len(label_lines) * 12, value_y) - 8
        else:
            canvas.setFont(regular, 10)
            text = label + (": " + values[0] if len(values) == 1 else ":")
            for line in simpleSplit(text, regular, 10, width - 120):
                canvas.drawString(60, y, line)
                y -= 13
            if len(values) > 1:
                for value in values:
                    for line in simpleSplit(value, regular, 10, width - 140):
                        canvas.drawString(75, y, line)
                        y -= 13
            y -= 4
    y -= 20
    canvas.setFont(regular, 10)
    for line in footer:
        canvas.drawString(60, y, line)
        y -= 22
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def typed_pdf_from(fields: Fields, style: Retype, *, two_columns: bool) -> bytes:
    place = fields.get("place_date", "")
    return typed_pdf(
        _rows(fields, style), two_columns=two_columns,
        footer=(f"Kraj in datum: {place}", "Podpis: ______________________"),
    )


# --- e-mail bodies ----------------------------------------------------------------------

def body_text(fields: Fields, *, greeting: str, signature: str) -> str:
    style = Retype(options="written", consent_mark="[x]")
    lines = [greeting, "", TITLE, ""]
    for label, values in _rows(fields, style):
        if label == FIELDS_BY_NAME["consent"].label:
            lines.append(values[0] if values else f"[ ] {CONSENT_TEXT}")
        else:
            lines.append(f"{label}: {values[0] if values else ''}".rstrip())
    if fields.get("place_date"):
        lines.append(f"Kraj in datum: {fields['place_date']}")
    lines += ["", signature]
    return "\n".join(lines) + "\n"


def eml(*, sender: str, subject: str, text: str | None, html: str | None = None,
        charset: str = "utf-8", cte: str = "quoted-printable", day: int = 3) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "metka.lasic@skupnostobcin.si"
    message["Subject"] = subject
    sent = datetime(2021, 2, day, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    message["Date"] = format_datetime(sent)
    message["Message-ID"] = f"<{day}.{abs(hash(sender)) % 10**8}@corpus.invalid>"
    if text is not None:
        message.set_content(text, charset=charset, cte=cte)
    if html is not None:
        if text is None:
            message.set_content(html, subtype="html", charset=charset, cte=cte)
        else:
            message.add_alternative(html, subtype="html", charset=charset, cte=cte)
    return bytes(message)


def html_body(fields: Fields) -> tuple[str, str]:
    """An HTML table as Outlook sends it, and the flattened plain part Outlook adds."""
    style = Retype(options="written", consent_mark="☒")
    rows = _rows(fields, style)
    cells = "".join(
        f"<tr><td style=\"border:1px solid #999;padding:3px\"><b>{label}</b></td>"
        f"<td style=\"border:1px solid #999;padding:3px\">{'<br>'.join(values)}</td></tr>"
        for label, values in rows
    )
    html = (
        "<html><head><meta charset=\"utf-8\"></head><body>"
        "<p>Pozdravljeni,</p><p>pošiljam izpolnjeno izjavo.</p>"
        f"<p><b>{TITLE}</b></p><table style=\"border-collapse:collapse\">{cells}</table>"
        f"<p>Kraj in datum: {fields.get('place_date', '')}</p>"
        "<p>Lep pozdrav,<br>Maja Zupan</p></body></html>"
    )
    plain = ["Pozdravljeni,", "", "pošiljam izpolnjeno izjavo.", "", TITLE, ""]
    for label, values in rows:
        plain += [label, ""] + [v for value in values for v in (value, "")]
    plain += [f"Kraj in datum: {fields.get('place_date', '')}", "", "Lep pozdrav,", "Maja Zupan"]
    return html, "\n".join(plain) + "\n"


# --- unreadable files -------------------------------------------------------------------

def _png(width: int, height: int, pixel: Callable[[int, int], int]) -> bytes:
    """A greyscale PNG written by hand (no imaging library needed)."""
    raw = b"".join(
        b"\x00" + bytes(pixel(x, y) for x in range(width)) for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def scan_pdf() -> bytes:
    """A scanned, signed declaration: one page, one image, no text layer."""
    rng = random.Random(7)

    def pixel(x: int, y: int) -> int:
        # Grey paper noise with dark "lines of text" every 18 px.
        ink = (y % 18) < 3 and 60 < x < 560 and (x // 7) % 5 != 0
        return (35 if ink else 235) + rng.randrange(0, 18)

    image = _png(620, 860, pixel)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    canvas.drawImage(ImageReader(io.BytesIO(image)), 0, 0, *A4)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def encrypted_pdf(fields: Fields) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(fill_pdf(fields))))
    writer.encrypt(user_password="obcina2021", owner_password="sos-owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def zip_bomb_docx() -> bytes:
    """A DOCX whose document.xml inflates to 512 MiB of spaces (≈0.5 MB on disk)."""
    template = zipfile.ZipFile(io.BytesIO(blank_docx()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for item in template.infolist():
            if item.filename != "word/document.xml":
                archive.writestr(item, template.read(item.filename))
        info = zipfile.ZipInfo("word/document.xml", (2021, 2, 3, 10, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        head = template.read("word/document.xml")
        cut = head.index(b"<w:body>") + len(b"<w:body>")
        with archive.open(info, "w", force_zip64=True) as member:
            member.write(head[:cut])
            chunk = b" " * (1 << 20)
            for _ in range(512):
                member.write(chunk)
            member.write(head[cut:])
    return buffer.getvalue()


def _raw_pdf(objects: Sequence[bytes | tuple[bytes, Callable[[BinaryIO], object]]],
             path: Path) -> None:
    """Write a PDF by hand, object by object (1-based numbering, object 1 is the catalog).

    An object given as (dictionary, writer) is a stream whose data `writer` writes straight
    to the file, so a large stream never sits in memory.
    """
    offsets = []
    with path.open("wb") as out:
        out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        for number, body in enumerate(objects, start=1):
            offsets.append(out.tell())
            out.write(f"{number} 0 obj\n".encode())
            if isinstance(body, tuple):
                dictionary, write = body
                out.write(dictionary + b"\nstream\n")
                write(out)
                out.write(b"\nendstream")
            else:
                out.write(body)
            out.write(b"\nendobj\n")
        xref = out.tell()
        out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
        for offset in offsets:
            out.write(f"{offset:010d} 00000 n \n".encode())
        out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n"
                  f"startxref\n{xref}\n%%EOF\n".encode())


def nested_pdf(path: Path) -> None:
    """A page tree that contains itself; the page's contents nested 100 000 arrays deep."""
    depth = 100_000
    content = b"BT /F1 12 Tf 72 720 Td (Izjava) Tj ET"
    _raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R /Extra 6 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 /Parent 2 0 R >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 7 0 R "
        b"/Resources << /Font << /F1 5 0 R >> /ExtGState 7 0 R >> >>",
        (f"<< /Length {len(content)} >>".encode(), lambda out: out.write(content)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding 5 0 R "
        b"/Widths 7 0 R /Descendants 5 0 R >>",
        b"<< /Self 6 0 R /Next << /Self 6 0 R /Loop 1 0 R >> >>",
        b"[" * depth + b"7 0 R" + b"]" * depth,
    ], path)


def oversized_pdf(path: Path) -> None:
    """A ~30 MB PDF: a typed declaration page carrying an uncompressed 30 MB photo."""
    side_w, side_h = 3000, 3400
    size = side_w * side_h * 3
    rng = random.Random(30)
    content = (b"BT /F1 11 Tf 60 780 Td (IZJAVA O PRISTOPU K MREZI KOMUNIKATORJEV) Tj ET\n"
               b"q 200 0 0 226 60 500 cm /Im1 Do Q")

    def photo(out: BinaryIO) -> None:
        left = size
        while left:
            step = min(left, 1 << 20)
            out.write(rng.randbytes(step))
            left -= step

    _raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> /XObject << /Im1 6 0 R >> >> >>",
        (f"<< /Length {len(content)} >>".encode(), lambda out: out.write(content)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        (f"<< /Type /XObject /Subtype /Image /Width {side_w} /Height {side_h} "
         f"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Length {size} >>".encode(), photo),
    ], path)


# --- not declarations -------------------------------------------------------------------

def invoice_pdf() -> bytes:
    return typed_pdf(
        [("Izdajatelj", ["Tiskarna Grafika d.o.o.", "Industrijska cesta 5, 1290 Grosuplje"]),
         ("Kupec", ["Občina Grosuplje", "Taborska cesta 2, 1290 Grosuplje"]),
         ("Datum", ["2. 2. 2021"]), ("Rok plačila", ["4. 3. 2021"]),
         ("Postavka", ["Tisk zloženk A5, 2000 kosov: 412,00 EUR"]),
         ("DDV 22 %", ["90,64 EUR"]), ("Za plačilo", ["502,64 EUR"]),
         ("Telefon", ["01 786 11 22"]), ("E-naslov", ["racuni@grafika.si"])],
        title="RAČUN št. 2021-0142",
    )


def cv_docx() -> bytes:
    """A CV: shares a few labels with the declaration (name, e-mail, phone), nothing more."""
    document = Document()
    document.add_heading("Življenjepis", level=1)
    for line in ("Ime in priimek: Luka Petek", "E-naslov: luka.petek@gmail.com",
                 "Telefon: 041 555 123", "Naslov: Cankarjeva 4, 1000 Ljubljana"):
        document.add_paragraph(line)
    document.add_heading("Delovne izkušnje", level=2)
    document.add_paragraph("2018–2021  Občina Litija, referent za odnose z javnostmi")
    document.add_paragraph("2015–2018  Radio Študent, novinar")
    document.add_heading("Izobrazba", level=2)
    document.add_paragraph("Fakulteta za družbene vede, Komunikologija (univ. dipl.)")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --- the corpus -------------------------------------------------------------------------

# --- habits beyond the retyped form -------------------------------------------------------

def _struck_run(paragraph: object, text: str) -> None:
    paragraph.add_run(text).font.strike = True  # type: ignore[attr-defined]


def struck_docx(fields: Mapping[str, FieldValue]) -> bytes:
    """Every option kept, the ones not chosen struck through (w:strike), no marks."""
    document = Document()
    paragraph = document.add_paragraph()
    paragraph.add_run(TITLE).bold = True
    table = document.add_table(rows=0, cols=2)
    table.style = document.styles["Table Grid"]
    for label, lines in _rows(fields, Retype(checked="\x00", unchecked="\x01")):
        cells = table.add_row().cells
        cells[0].paragraphs[0].add_run(label + ":")
        for index, line in enumerate(lines):
            target = cells[1].paragraphs[0] if index == 0 else cells[1].add_paragraph()
            if line.startswith("\x01"):
                _struck_run(target, line[2:])
            else:
                target.add_run(line.lstrip("\x00 "))
    place = fields.get("place_date")
    document.add_paragraph(f"Kraj in datum: {place or ''}")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def notes_column_docx(fields: Mapping[str, FieldValue]) -> bytes:
    """Label* | value | remark, under a header row; marks ☒/☐ and values with line breaks."""
    document = Document()
    document.add_paragraph(TITLE)
    table = document.add_table(rows=1, cols=3)
    table.style = document.styles["Table Grid"]
    for cell, text in zip(table.rows[0].cells, ("Podatek", "Vpis", "Opomba"), strict=True):
        cell.paragraphs[0].add_run(text).bold = True
    for label, lines in _rows(fields, Retype()):
        spec = FIELDS_BY_NAME_BY_LABEL[label]
        cells = table.add_row().cells
        cells[0].paragraphs[0].add_run(label + ("*:" if spec.required else ":"))
        run = cells[1].paragraphs[0].add_run()
        for index, line in enumerate(lines):
            if index:
                run.add_break()  # a soft line break (Shift+Enter), not a new paragraph
            run.add_text(line.replace(" ", "\u00a0", 1))
        cells[2].paragraphs[0].add_run("obvezno" if spec.required else "neobvezno")
    document.add_paragraph(f"Kraj in datum: {fields.get('place_date', '')}")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def next_paragraph_lines(fields: Mapping[str, FieldValue], after: str = "[x]",
                         empty: str = "[ ]") -> list[str]:
    """Each label on a line of its own and its value on the next; the options of a choice
    on one line, each followed by its mark ("občina [x] javni zavod občine [ ]")."""
    lines = [TITLE]
    for label, values in _rows(fields, Retype(checked="\x00", unchecked="\x01")):
        lines.append(label + ":")
        if FIELDS_BY_NAME_BY_LABEL[label].kind in ("choice", "set"):
            lines.append(" ".join(
                f"{v[2:]} {after if v.startswith(chr(0)) else empty}" for v in values))
        elif FIELDS_BY_NAME_BY_LABEL[label].kind == "checkbox":
            lines.append(f"{CONSENT_TEXT} {after if fields.get('consent') else empty}")
        else:
            lines.extend(values)
    lines += ["Kraj in datum:", str(fields.get("place_date", ""))]
    return lines


def next_paragraph_docx(fields: Mapping[str, FieldValue]) -> bytes:
    document = Document()
    for line in next_paragraph_lines(fields):
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def next_line_pdf(fields: Fields) -> bytes:
    """Labels on one line and values on the next, marks after the options, one page."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    regular, _bold = _pdf_fonts()
    y = A4[1] - 50
    for line in next_paragraph_lines(fields, after="☒", empty="☐"):
        for part in simpleSplit(line, regular, 9, A4[0] - 80):
            canvas.setFont(regular, 9)
            canvas.drawString(40, y, part)
            y -= 13
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _plain_lines(fields: Fields, *, lower: bool = False) -> list[str]:
    lines = []
    for label, values in _rows(fields, Retype(options="written", consent_mark="[x]")):
        if label == FIELDS_BY_NAME["consent"].label:
            lines.append(values[0] if values else "")
            continue
        if not values:
            continue
        if lower:
            label = strip_diacritics(label.split(" (")[0]).lower()
        lines.append(f"{label}: {values[0]}")
    if fields.get("place_date"):
        lines.append(f"{'kraj in datum' if lower else 'Kraj in datum'}: {fields['place_date']}")
    return lines


OTHER_PERSON = ["Ime in priimek: Janez Kranjc", "E-naslov: janez.kranjc@primer.si",
                "Telefon: 01 000 00 00"]


def outlook_reply(fields: Fields) -> tuple[str, str]:
    """Outlook HTML (MsoNormal, o:p, &nbsp;, a table) above the quoted original of another
    person, and its plain alternative."""
    rows = _rows(fields, Retype(options="written", consent_mark="☒"))
    cells = "".join(
        f"<tr><td width=220 style='border:solid windowtext 1.0pt'><p class=MsoNormal>{label}"
        f"<o:p></o:p></p></td><td style='border:solid windowtext 1.0pt'>"
        + "".join(f"<p class=MsoNormal>{v.replace(' ', '&nbsp;', 1)}<o:p></o:p></p>"
                  for v in values)
        + "</td></tr>"
        for label, values in rows)
    html = (
        "<html xmlns:o=\"urn:schemas-microsoft-com:office:office\"><head><style><!--"
        "p.MsoNormal{margin:0cm;font-size:11.0pt} --></style><!--[if gte mso 9]><xml>"
        "<o:shapedefaults v:ext=\"edit\" spidmax=\"1026\"/></xml><![endif]--></head>"
        "<body lang=SL><div class=WordSection1><p class=MsoNormal>Pozdravljeni,<o:p></o:p></p>"
        "<p class=MsoNormal><o:p>&nbsp;</o:p></p>"
        f"<table class=MsoTableGrid border=1 cellspacing=0 cellpadding=0>{cells}</table>"
        "<p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>Lep pozdrav<o:p></o:p></p>"
        "<div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'>"
        "<p class=MsoNormal><b>From:</b> Janez Kranjc &lt;janez.kranjc@primer.si&gt;<br>"
        "<b>Sent:</b> Monday, February 1, 2021 10:12 AM<br><b>To:</b> Metka<br>"
        "<b>Subject:</b> Mreža komunikatorjev</p></div>"
        + "".join(f"<p class=MsoNormal>{line}<o:p></o:p></p>" for line in OTHER_PERSON)
        + "</div></body></html>")
    plain = ("Pozdravljeni,\n\n" + "\n".join(_plain_lines(fields)) + "\n\nLep pozdrav\n\n"
             "From: Janez Kranjc <janez.kranjc@primer.si>\nSent: Monday, February 1, 2021\n"
             "To: Metka\nSubject: Mreža komunikatorjev\n\n" + "\n".join(OTHER_PERSON) + "\n")
    return html, plain


def gmail_reply(fields: Fields) -> str:
    name = str(fields["full_name"])
    return ("Pozdravljeni,\n\nkot ste prosili, še enkrat:\n\n" + "\n".join(_plain_lines(fields))
            + f"\n\n-- \n{name}\nTel.: 041 000 000\nNaslov: Glavni trg 1\n\n"
            "On Mon, Feb 1, 2021 at 10:12 AM Janez Kranjc <janez.kranjc@primer.si>\nwrote:\n\n"
            + "".join(f"> {line}\n" for line in OTHER_PERSON))


def forwarded(fields: Fields) -> str:
    return ("Metka, posredujem izjavo sodelavca.\n\n"
            "---------- Forwarded message ---------\n"
            f"From: {fields['full_name']} <{fields['email']}>\n"
            "Date: Mon, Feb 1, 2021 at 9:00 AM\nSubject: Izjava o pristopu\n"
            "To: Tajništvo <tajnistvo@primer.si>\n\n"
            + body_text(fields, greeting="Prosim, posredujte naprej.", signature="Hvala"))


def lowercase_body(fields: Fields) -> str:
    return ("zivjo,\n\nprijavljam se v mrezo:\n\n"
            + "\n".join(strip_diacritics(line) if not line.startswith("[") else line
                        for line in _plain_lines(fields, lower=True)) + "\n\nlp\n")


def _declaration(name: str, path: Path, fields: Fields, note: str = "",
                 kind: Literal["document", "body"] = "document",
                 needs_libreoffice: bool = False) -> Fixture:
    return Fixture(name, path, fields, missing_problems(fields), kind, needs_libreoffice, note)


def _unreadable(name: str, path: Path, note: str) -> Fixture:
    return Fixture(name, path, None, UNREADABLE, note=note)


# Every fixture, in build order: the test module parametrizes over these before building.
FIXTURE_NAMES: tuple[str, ...] = (
    "docx_official_kranj",
    "docx_official_zavod_maribor",
    "docx_official_mayor_kostel",
    "docx_official_minimal_ljutomer",
    "pdf_official_piran",
    "pdf_official_knjiznica_ptuj",
    "pdf_official_sevnica_all_interests",
    "pdf_official_trzic_zavod",
    "docx_legacy_fields_celje",
    "docx_legacy_fields_idrija",
    "docx_no_diacritics_ivancna_gorica",
    "docx_capitals_labels_velenje",
    "docx_extra_spaces_no_colons_koper",
    "docx_paragraphs_novo_mesto",
    "docx_one_cell_jesenice",
    "docx_deleted_options_radovljica",
    "docx_written_choices_table_vrhnika",
    "docx_marks_x_brezice",
    "docx_marks_paren_x_domzale",
    "docx_marks_heavy_check_slovenj_gradec",
    "docx_marks_ballot_check_bled",
    "docx_marks_black_square_ajdovscina",
    "docx_marks_bracket_upper_x_skofja_loka",
    "docx_tracked_insertions_murska_sobota",
    "docx_text_content_controls_nova_gorica",
    "pdf_typed_glyph_marks_kamnik",
    "pdf_typed_written_out_lendava",
    "pdf_typed_brackets_trbovlje",
    "docx_official_missing_email_zalec",
    "docx_official_no_consent_logatec",
    "docx_official_zavod_no_municipality_kocevje",
    "pdf_official_no_role_sezana",
    "body_utf8_postojna",
    "body_windows1250_lasko",
    "body_iso8859_2_zagorje",
    "body_html_table_grosuplje",
    "body_cover_letter_only",
    "docx_truncated_zip",
    "docx_zip_bomb",
    "pdf_encrypted",
    "pdf_image_only_scan",
    "doc_legacy_word97",
    "docx_really_png",
    "pdf_truncated",
    "pdf_nested_self_reference",
    "pdf_oversized_30mb",
    "pdf_invoice",
    "docx_cv",
    "docx_struck_options_postojna",
    "docx_notes_column_grosuplje",
    "docx_next_paragraph_marks_after_kamnik",
    "pdf_next_line_marks_after_celje",
    "body_outlook_reply_bled",
    "body_gmail_reply_signature_koper",
    "body_forwarded_lendava",
    "body_lowercase_no_title_trbovlje",
    "lo_docx_official_kranj",
    "lo_docx_marks_ballot_check_bled",
    "lo_docx_paragraphs_novo_mesto",
    "lo_docx_marks_bracket_upper_x_skofja_loka",
    "lo_docx_tracked_insertions_murska_sobota",
    "lo_docx_official_no_consent_logatec",
)


def build_corpus(directory: Path, *, libreoffice: bool) -> list[Fixture]:
    """Write every fixture file into `directory` and return the fixtures with expectations."""
    directory.mkdir(parents=True, exist_ok=True)
    fixtures: list[Fixture] = []

    def put(filename: str, data: bytes) -> Path:
        path = directory / filename
        path.write_bytes(data)
        return path

    def add(filename: str, data: bytes, fields: Fields, note: str) -> None:
        fixtures.append(_declaration(Path(filename).stem, put(filename, data), fields, note))

    # The official DOCX, ticked and typed in Word.
    add("docx_official_kranj.docx", fill_docx(KRANJ), KRANJ, "official form, content controls")
    add("docx_official_zavod_maribor.docx", fill_docx(ZAVOD_MARIBOR), ZAVOD_MARIBOR,
        "official form, javni zavod, 'drugo' with text")
    add("docx_official_mayor_kostel.docx", fill_docx(KOSTEL), KOSTEL, "official form, mayor")
    add("docx_official_minimal_ljutomer.docx", fill_docx(LJUTOMER), LJUTOMER,
        "official form, only the required fields")
    # The official PDF, filled in a viewer.
    add("pdf_official_piran.pdf", fill_pdf(PIRAN), PIRAN, "AcroForm, director")
    add("pdf_official_knjiznica_ptuj.pdf", fill_pdf(PTUJ_LIBRARY), PTUJ_LIBRARY,
        "AcroForm, javni zavod, other employee")
    add("pdf_official_sevnica_all_interests.pdf", fill_pdf(SEVNICA), SEVNICA,
        "AcroForm, every interest and 'drugo' text")
    add("pdf_official_trzic_zavod.pdf", fill_pdf(TRZIC_ZAVOD), TRZIC_ZAVOD,
        "AcroForm, only required fields")
    # Legacy Word form fields.
    add("docx_legacy_fields_celje.docx", legacy_docx(CELJE, checked_element=False), CELJE,
        "FORMTEXT/FORMCHECKBOX, ticks as w:default w:val=1")
    add("docx_legacy_fields_idrija.docx", legacy_docx(IDRIJA_ZAVOD, checked_element=True),
        IDRIJA_ZAVOD, "FORMCHECKBOX ticked with w:checked (default 0), empty FORMTEXT en spaces")

    # Retyped by hand.
    retyped: list[tuple[str, Fields, Retype, str]] = [
        ("docx_no_diacritics_ivancna_gorica", _ascii_fields(IVANCNA_GORICA),
         Retype(checked="[x]", unchecked="[ ]", ascii_only=True),
         "no diacritics anywhere, [x] marks"),
        ("docx_capitals_labels_velenje", VELENJE, Retype(labels=str.upper),
         "CAPITAL labels, ☒/☐"),
        ("docx_extra_spaces_no_colons_koper", KOPER,
         Retype(colon=False, checked="✓", unchecked="",
                labels=lambda label: "  " + label.replace(" ", "  ") + "   "),
         "labels with extra spaces and no colons, ✓ before the chosen, others bare"),
        ("docx_paragraphs_novo_mesto", NOVO_MESTO,
         Retype(layout="paragraphs", options="written", consent_mark="X"),
         "label: value paragraphs, choices written out"),
        ("docx_one_cell_jesenice", JESENICE,
         Retype(layout="one_cell", options="written", consent_mark="☒"),
         "label and value in one cell, choices written out"),
        ("docx_deleted_options_radovljica", RADOVLJICA, Retype(options="chosen_only"),
         "only the chosen options left, no marks"),
        ("docx_written_choices_table_vrhnika", VRHNIKA,
         Retype(options="written", consent_mark="☒", title=False),
         "table, choices written out in the value cell, no title line"),
        ("docx_marks_x_brezice", BREZICE, Retype(checked="X", unchecked=""),
         "X before the chosen, others bare"),
        ("docx_marks_paren_x_domzale", DOMZALE, Retype(checked="(x)", unchecked="( )"),
         "(x) / ( ) marks, 'drugo' with text"),
        ("docx_marks_heavy_check_slovenj_gradec", SLOVENJ_GRADEC,
         Retype(checked="✔", unchecked=""), "✔ before the chosen"),
        ("docx_marks_ballot_check_bled", BLED, Retype(checked="☑", unchecked="☐"),
         "☑ / ☐ marks"),
        ("docx_marks_black_square_ajdovscina", AJDOVSCINA, Retype(checked="■", unchecked="☐"),
         "■ / ☐ marks"),
        ("docx_marks_bracket_upper_x_skofja_loka", SKOFJA_LOKA,
         Retype(checked="[X]", unchecked="[ ]"), "[X] / [ ] marks"),
        ("docx_tracked_insertions_murska_sobota", MURSKA_SOBOTA, Retype(wrap="ins"),
         "every typed value inside a tracked insertion (w:ins)"),
        ("docx_text_content_controls_nova_gorica", NOVA_GORICA, Retype(wrap="sdt"),
         "every typed value inside a plain-text content control (w:sdt)"),
    ]
    for name, fields, style, note in retyped:
        add(f"{name}.docx", retyped_docx(fields, style), fields, note)

    # Typed and printed PDFs with a text layer.
    add("pdf_typed_glyph_marks_kamnik.pdf",
        typed_pdf_from(KAMNIK, Retype(), two_columns=True), KAMNIK,
        "printed form, ☒/☐ glyphs, two columns")
    add("pdf_typed_written_out_lendava.pdf",
        typed_pdf_from(LENDAVA, Retype(options="written", consent_mark="[x]"),
                       two_columns=False),
        LENDAVA, "label: value lines, choices written out")
    add("pdf_typed_brackets_trbovlje.pdf",
        typed_pdf_from(TRBOVLJE, Retype(checked="[x]", unchecked="[ ]"), two_columns=True),
        TRBOVLJE, "printed form, [x] marks")

    # Missing data.
    fixtures_missing = [
        ("docx_official_missing_email_zalec.docx", fill_docx(NO_EMAIL), NO_EMAIL,
         ("missing:email",), "no e-mail address"),
        ("docx_official_no_consent_logatec.docx", fill_docx(NO_CONSENT), NO_CONSENT,
         ("missing:consent",), "consent not ticked"),
        ("docx_official_zavod_no_municipality_kocevje.docx", fill_docx(ZAVOD_NO_MUNICIPALITY),
         ZAVOD_NO_MUNICIPALITY, ("missing:municipality",),
         "javni zavod without the founding municipality"),
        ("pdf_official_no_role_sezana.pdf", fill_pdf(PDF_NO_ROLE), PDF_NO_ROLE,
         ("missing:role",), "no role chosen"),
    ]
    for filename, data, fields, problems, note in fixtures_missing:
        assert missing_problems(fields) == problems, (filename, missing_problems(fields))
        fixtures.append(Fixture(Path(filename).stem, put(filename, data), fields, problems,
                                note=note))

    # E-mail bodies.
    bodies = [
        ("body_utf8_postojna.eml", POSTOJNA, "utf-8", "8bit"),
        ("body_windows1250_lasko.eml", LASKO, "windows-1250", "quoted-printable"),
        ("body_iso8859_2_zagorje.eml", ZAGORJE, "iso-8859-2", "base64"),
    ]
    for filename, fields, charset, cte in bodies:
        name = str(fields["full_name"])
        text = body_text(fields, greeting="Pozdravljeni,",
                         signature=f"Lep pozdrav,\n{name}\n{fields['organization']}")
        data = eml(sender=f"{name} <{fields['email']}>",
                   subject="Izjava o pristopu k mreži komunikatorjev", text=text,
                   charset=charset, cte=cte)
        fixtures.append(_declaration(Path(filename).stem, put(filename, data), fields,
                                     f"plain body, {charset}, {cte}", kind="body"))
    html, plain = html_body(GROSUPLJE)
    fixtures.append(_declaration(
        "body_html_table_grosuplje",
        put("body_html_table_grosuplje.eml",
            eml(sender="Maja Zupan <maja.zupan@grosuplje.si>", subject="Pristop k mreži",
                text=plain, html=html)),
        GROSUPLJE, "multipart/alternative: HTML table, Outlook's flattened text", kind="body"))
    fixtures.append(Fixture(
        "body_cover_letter_only",
        put("body_cover_letter_only.eml", eml(
            sender="Jure Kos <jure.kos@litija.si>", subject="Izjava - mreža komunikatorjev",
            text="Pozdravljeni,\n\nv prilogi vam pošiljam izpolnjeno izjavo o pristopu k "
                 "mreži komunikatorjev.\n\nLep pozdrav,\nJure Kos\nObčina Litija\n")),
        {}, (), kind="body", note="a cover note, the declaration is elsewhere: parse_body None"))

    # Unreadable.
    official = fill_docx(KRANJ)
    fixtures.append(_unreadable("docx_truncated_zip",
                                put("docx_truncated_zip.docx", official[: len(official) // 2]),
                                "DOCX cut in half: no central directory"))
    fixtures.append(_unreadable("docx_zip_bomb", put("docx_zip_bomb.docx", zip_bomb_docx()),
                                "document.xml inflates to 512 MiB"))
    fixtures.append(_unreadable("pdf_encrypted", put("pdf_encrypted.pdf", encrypted_pdf(PIRAN)),
                                "filled official PDF with a user password"))
    fixtures.append(_unreadable("pdf_image_only_scan", put("pdf_image_only_scan.pdf",
                                                           scan_pdf()),
                                "a scan: one image, no text layer"))
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + random.Random(97).randbytes(24_000)
    fixtures.append(_unreadable("doc_legacy_word97", put("doc_legacy_word97.doc", ole),
                                "Word 97-2003 .doc (OLE2)"))
    png = _png(64, 64, lambda x, y: (x * 4) ^ (y * 4))
    fixtures.append(_unreadable("docx_really_png", put("docx_really_png.docx", png),
                                "a PNG named .docx"))
    printed = typed_pdf_from(KAMNIK, Retype(), two_columns=True)
    cut = printed.index(b"stream")
    fixtures.append(_unreadable("pdf_truncated", put("pdf_truncated.pdf", printed[:cut]),
                                "PDF cut before its first stream"))
    nested_pdf(directory / "pdf_nested_self_reference.pdf")
    fixtures.append(_unreadable("pdf_nested_self_reference",
                                directory / "pdf_nested_self_reference.pdf",
                                "page tree containing itself, contents nested 100 000 arrays deep"))
    oversized_pdf(directory / "pdf_oversized_30mb.pdf")
    fixtures.append(_unreadable("pdf_oversized_30mb", directory / "pdf_oversized_30mb.pdf",
                                "30 MB attachment"))

    # Readable, but not a declaration.
    fixtures.append(Fixture("pdf_invoice", put("pdf_invoice.pdf", invoice_pdf()), {}, (),
                            note="an invoice: parse_document returns []"))
    fixtures.append(Fixture("docx_cv", put("docx_cv.docx", cv_docx()), {}, (),
                            note="a CV sharing three labels: parse_document returns []"))

    # Habits beyond the retyped form.
    add("docx_struck_options_postojna.docx", struck_docx(POSTOJNA), POSTOJNA,
        "every option kept, the ones not chosen struck through")
    add("docx_notes_column_grosuplje.docx", notes_column_docx(GROSUPLJE), GROSUPLJE,
        "header row, label*: | value with soft breaks and nbsp | remark column")
    add("docx_next_paragraph_marks_after_kamnik.docx", next_paragraph_docx(KAMNIK), KAMNIK,
        "label paragraph then value paragraph; options on one line, [x] after the chosen")
    add("pdf_next_line_marks_after_celje.pdf", next_line_pdf(CELJE), CELJE,
        "printed: label line then value line; ☒ after the chosen option")
    html, plain = outlook_reply(BLED)
    fixtures.append(_declaration(
        "body_outlook_reply_bled",
        put("body_outlook_reply_bled.eml", eml(sender="Neža Repe <neza.repe@bled.si>",
                                               subject="RE: Mreža komunikatorjev",
                                               text=plain, html=html)),
        BLED, "Outlook HTML table (MsoNormal, o:p, nbsp) above another person's original",
        kind="body"))
    asciified = _ascii_fields(TRBOVLJE)
    for name, fields, text, note in [
        ("body_gmail_reply_signature_koper", KOPER, gmail_reply(KOPER),
         "no title, signature with Tel./Naslov, Gmail 'On ... wrote:' quoting another person"),
        ("body_forwarded_lendava", LENDAVA, forwarded(LENDAVA),
         "the declaration inside a forwarded message"),
        ("body_lowercase_no_title_trbovlje", asciified, lowercase_body(asciified),
         "no title, lowercase labels, no diacritics"),
    ]:
        fixtures.append(_declaration(
            name, put(f"{name}.eml", eml(sender=f"<{fields['email']}>",
                                          subject="Re: izjava", text=text)),
            fields, note, kind="body"))

    # Printed from Word fixtures by LibreOffice.
    to_print = [
        # Not the legacy-field fixtures: LibreOffice 7.4 prints FORMCHECKBOX as vector
        # strokes, neither text nor a form field, so the marks cannot be read back.
        "docx_official_kranj", "docx_marks_ballot_check_bled", "docx_paragraphs_novo_mesto",
        "docx_marks_bracket_upper_x_skofja_loka", "docx_tracked_insertions_murska_sobota",
        "docx_official_no_consent_logatec",
    ]
    sources = {f.name: f for f in fixtures}
    if libreoffice:
        printed_paths = print_with_libreoffice(
            [sources[name].path for name in to_print], directory / "printed")
        for name in to_print:
            source = sources[name]
            target = directory / f"lo_{name}.pdf"
            shutil.move(printed_paths[source.path], target)
            fixtures.append(Fixture(
                f"lo_{name}", target, source.expected_fields, source.expected_problems,
                needs_libreoffice=True, note=f"{name} printed to PDF by LibreOffice"))
    else:
        for name in to_print:
            source = sources[name]
            fixtures.append(Fixture(
                f"lo_{name}", directory / f"lo_{name}.pdf", source.expected_fields,
                source.expected_problems, needs_libreoffice=True,
                note=f"{name} printed to PDF by LibreOffice (not built)"))
    assert tuple(f.name for f in fixtures) == FIXTURE_NAMES, [f.name for f in fixtures]
    return fixtures


def print_with_libreoffice(paths: Sequence[Path], outdir: Path) -> dict[Path, Path]:
    """Print DOCX files to PDF in one soffice run (it is slow to start)."""
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="corpus-lo-") as profile:
        subprocess.run(
            ["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
             "--convert-to", "pdf", "--outdir", str(outdir), *map(str, paths)],
            check=True, capture_output=True, timeout=300,
        )
    result = {path: outdir / (path.stem + ".pdf") for path in paths}
    missing = [str(p) for p in result.values() if not p.is_file()]
    if missing:
        raise RuntimeError(f"soffice did not print: {missing}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--no-libreoffice", action="store_true")
    args = parser.parse_args(argv)
    use_lo = not args.no_libreoffice and shutil.which("soffice") is not None
    for fixture in build_corpus(args.outdir, libreoffice=use_lo):
        expected = ("unreadable" if fixture.expected_fields is None
                    else "no declaration" if not fixture.expected_fields
                    else ",".join(fixture.expected_problems) or "ok")
        print(f"{fixture.name:48} {fixture.kind:8} {expected:22} {fixture.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
