"""The parsers against the generated corpus: each document must give exactly its expectation.

The corpus (tests/corpus/build.py) is built once per session in a temp dir. A document
fixture goes through parsers.document.parse_document, an e-mail fixture's text and HTML
parts through parsers.body.parse_body. The round-trip tests fill the official DOCX and PDF
with random valid declarations and expect the same fields back.
"""

from __future__ import annotations

import os
import shutil
import string
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.model import (
    EXPERIENCE,
    INTERESTS,
    ORGANIZATION_TYPES,
    ROLES,
    UNREADABLE_ATTACHMENT,
    FieldValue,
)
from tests.corpus.build import FIXTURE_NAMES, Fixture, build_corpus
from tests.corpus.fill import fill_docx, fill_pdf

HAVE_SOFFICE = shutil.which("soffice") is not None
LIBREOFFICE_PRINTED = {name for name in FIXTURE_NAMES if name.startswith("lo_")}


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Fixture]:
    directory = tmp_path_factory.mktemp("corpus")
    return {f.name: f for f in build_corpus(directory, libreoffice=HAVE_SOFFICE)}


def _params() -> list[object]:
    params: list[object] = []
    for name in FIXTURE_NAMES:
        marks = []
        if name in LIBREOFFICE_PRINTED:
            marks = [
                pytest.mark.libreoffice,
                # CI installs LibreOffice: there a missing soffice fails instead of skipping.
                pytest.mark.skipif(not HAVE_SOFFICE and not os.environ.get("CI"),
                                   reason="soffice not installed"),
            ]
        params.append(pytest.param(name, marks=marks, id=name))
    return params


def _body_parts(raw: bytes) -> tuple[str, str | None]:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    text = plain.get_content() if isinstance(plain, EmailMessage) else ""
    markup = html.get_content() if isinstance(html, EmailMessage) else None
    return text, markup


@pytest.mark.parametrize("name", _params())
def test_fixture_parses_to_its_expectation(corpus: dict[str, Fixture], name: str) -> None:
    fixture = corpus[name]
    if fixture.kind == "body":
        from parsers.body import parse_body

        text, html = _body_parts(fixture.path.read_bytes())
        found = parse_body(text, html)
        if fixture.expected_fields == {}:
            assert found is None, fixture.note
            return
        assert found is not None, fixture.note
        assert found.fields == fixture.expected_fields, fixture.note
        assert set(found.problems) == set(fixture.expected_problems), fixture.note
        return

    from parsers.document import parse_document

    declarations = parse_document(fixture.path.read_bytes(), fixture.path.name)
    if fixture.expected_fields is None:
        assert [(d.fields, set(d.problems)) for d in declarations] == [
            ({}, {UNREADABLE_ATTACHMENT})
        ], fixture.note
    elif fixture.expected_fields == {}:
        assert declarations == [], fixture.note
    else:
        assert len(declarations) == 1, fixture.note
        assert declarations[0].fields == fixture.expected_fields, fixture.note
        assert set(declarations[0].problems) == set(fixture.expected_problems), fixture.note


def test_corpus_is_large_and_varied(corpus: dict[str, Fixture]) -> None:
    fixtures = list(corpus.values())
    assert len(fixtures) >= 40
    suffixes = {f.path.suffix for f in fixtures}
    assert {".docx", ".pdf", ".eml", ".doc"} <= suffixes
    unreadable = [f for f in fixtures if f.expected_fields is None]
    assert len(unreadable) == 9
    assert all(f.expected_problems == (UNREADABLE_ATTACHMENT,) for f in unreadable)
    for fixture in fixtures:
        if fixture.needs_libreoffice and not HAVE_SOFFICE:
            continue
        assert fixture.path.is_file(), fixture.name
    bomb = corpus["docx_zip_bomb"].path
    assert bomb.stat().st_size < 2_000_000
    assert 29_000_000 < corpus["pdf_oversized_30mb"].path.stat().st_size < 32_000_000


# --- round trip through the official forms ----------------------------------------------

LOWER = "abcčdefghijklmnoprsštuvzž"
UPPER = LOWER.upper()

word = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(UPPER + LOWER),
    st.text(alphabet=LOWER, min_size=1, max_size=9),
)
phrase = st.lists(word, min_size=1, max_size=4).map(" ".join)
email = st.builds(
    lambda user, host: f"{user}@{host}.si",
    st.lists(st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=8),
             min_size=1, max_size=2).map(".".join),
    st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=10),
)
phone = st.builds(
    lambda area, a, b: f"0{area} {a:03d} {b:02d} {b:02d}",
    st.integers(1, 7), st.integers(100, 999), st.integers(10, 99),
)
place_date = st.builds(
    lambda place, day, month: f"{place}, {day}. {month}. 2021",
    word, st.integers(1, 28), st.integers(1, 2),
)


@st.composite
def declarations(draw: st.DrawFn) -> dict[str, FieldValue]:
    """A complete, valid declaration (no missing required field), optional parts at random."""
    organization_type = draw(st.sampled_from([c.value for c in ORGANIZATION_TYPES]))
    interests = [c.value for c in INTERESTS if draw(st.booleans())]
    values: dict[str, FieldValue | None] = {
        "full_name": draw(phrase),
        "job_title": draw(phrase),
        "email": draw(email),
        "phone": draw(st.none() | phone),
        "organization_type": organization_type,
        "organization": draw(phrase),
        "municipality": draw(phrase) if organization_type == "javni_zavod"
        else draw(st.none() | phrase),
        "address": draw(st.none() | phrase),
        "role": draw(st.sampled_from([c.value for c in ROLES])),
        "experience": draw(st.none() | st.sampled_from([c.value for c in EXPERIENCE])),
        "interests": interests or None,
        "interests_other": draw(phrase) if "other" in interests else None,
        "consent": True,
        "place_date": draw(st.none() | place_date),
    }
    return {name: value for name, value in values.items() if value is not None}


ROUND_TRIP = settings(max_examples=25, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])


@ROUND_TRIP
@given(declarations())
def test_official_docx_round_trip(fields: dict[str, FieldValue]) -> None:
    from parsers.document import parse_document

    found = parse_document(fill_docx(fields), "izjava-o-pristopu.docx")
    assert [(d.fields, d.problems) for d in found] == [(fields, ())]


@ROUND_TRIP
@given(declarations())
def test_official_pdf_round_trip(fields: dict[str, FieldValue]) -> None:
    from parsers.document import parse_document

    found = parse_document(fill_pdf(fields), "izjava-o-pristopu.pdf")
    assert [(d.fields, d.problems) for d in found] == [(fields, ())]


def test_fill_helpers_are_exercised_on_a_known_declaration(tmp_path: Path) -> None:
    """The fillers themselves: the ticks and values land where the blank forms have them."""
    import io
    import zipfile

    import pypdf

    fields: dict[str, FieldValue] = {
        "full_name": "Ana Novak", "job_title": "svetovalka", "email": "ana@kranj.si",
        "organization_type": "obcina", "organization": "Mestna občina Kranj",
        "role": "pr_staff", "interests": ["crisis", "other"], "interests_other": "video",
        "consent": True, "place_date": "Kranj, 3. 2. 2021",
    }
    with zipfile.ZipFile(io.BytesIO(fill_docx(fields))) as archive:
        xml = archive.read("word/document.xml").decode()
    assert xml.count('w14:checked w14:val="1"') == 5  # obcina, pr_staff, 2 interests, consent
    assert xml.count("☒") == 5
    assert "drugo:</w:t>" in xml and "> video</w:t>" in xml
    assert "Kranj, 3. 2. 2021" in xml

    pdf_fields = pypdf.PdfReader(io.BytesIO(fill_pdf(fields))).get_fields()
    assert pdf_fields is not None
    set_values = {
        name: field.get("/V") for name, field in pdf_fields.items()
        if field.get("/V") not in (None, "", "/Off")
    }
    assert set_values == {
        "ime_priimek": "Ana Novak", "delovno_mesto": "svetovalka", "e_naslov": "ana@kranj.si",
        "vrsta_organizacije": "/obcina", "naziv_organizacije": "Mestna občina Kranj",
        "vloga": "/pr_staff", "interes_krizno": "/Yes", "interes_drugo": "/Yes",
        "interes_drugo_besedilo": "video", "soglasje": "/Yes", "kraj_datum": "Kranj, 3. 2. 2021",
    }
