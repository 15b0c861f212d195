"""One document or body holding the form filled in once per colleague: each is a declaration.

Before, the grammar read the labels of all of them as one: the first person's text fields, a
role left empty by two different ticks, and the other people lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from parsers.body import parse_bodies
from parsers.document import parse_document
from parsers.find import find_declarations
from tests.parsers.builders import (
    ANA,
    ANA_LINES,
    ANA_MARKS,
    ANA_TEXT,
    make_docx,
    official_rows,
    text_pdf,
)


def bojan_lines() -> list[str]:
    """Ana's declaration retyped for a colleague who is the director of the administration."""
    swaps = {
        "Ime in priimek: Ana Novak": "Ime in priimek: Bojan Kos",
        "E-naslov: ana.novak@kranj.si": "E-naslov: bojan.kos@kranj.si",
        "[x] strokovni sodelavec": "[ ] strokovni sodelavec",
        "[ ] direktor / direktorica": "[x] direktor / direktorica",
    }
    lines = []
    for line in ANA_LINES:
        for old, new in swaps.items():
            line = line.replace(old, new)
        lines.append(line)
    return lines


def people(found: Sequence[Mapping[str, object]]) -> list[tuple[object, object, object]]:
    return [(fields.get("full_name"), fields.get("email"), fields.get("role")) for fields in found]


EXPECTED = [("Ana Novak", "ana.novak@kranj.si", "pr_staff"),
            ("Bojan Kos", "bojan.kos@kranj.si", "director")]


def test_two_people_typed_in_one_body() -> None:
    body = "\n".join(["Pozdravljeni,", "pošiljam izjavi dveh sodelavcev.", "",
                      *ANA_LINES, "", *bojan_lines(), "", "Lep pozdrav"])
    found = parse_bodies(body)
    assert people([d.fields for d in found]) == EXPECTED
    assert [d.source for d in found] == ["body", "body (2)"]
    assert all(d.problems == () for d in found)
    assert found[0].fields == ANA


def test_a_name_and_signature_under_the_form_are_not_a_second_declaration() -> None:
    body = "\n".join([*ANA_LINES, "Kraj in datum: Kranj, 3. 2. 2021",
                      "Ime in priimek: Ana Novak", "Podpis: ________"])
    [declaration] = parse_bodies(body)
    assert declaration.fields == {**ANA, "place_date": "Kranj, 3. 2. 2021"}


def test_a_pdf_with_one_page_per_person() -> None:
    found = parse_document(text_pdf([ANA_LINES, bojan_lines()]), "izjave.pdf")
    assert people([d.fields for d in found]) == EXPECTED
    assert [d.source for d in found] == ["izjave.pdf", "izjave.pdf (2)"]
    assert found[0].fields == ANA


def test_a_docx_with_the_form_table_twice() -> None:
    bojan_text = {**ANA_TEXT, "full_name": "Bojan Kos", "email": "bojan.kos@kranj.si"}
    bojan_marks = {**ANA_MARKS, "role": ["director"]}
    rows = official_rows(ANA_TEXT, ANA_MARKS) + official_rows(bojan_text, bojan_marks)
    found = parse_document(make_docx(rows), "izjave.docx")
    assert people([d.fields for d in found]) == EXPECTED
    assert found[0].fields == ANA


def test_each_person_of_a_shared_document_is_kept_by_find_declarations() -> None:
    found = find_declarations("V prilogi.", [("izjave.pdf", text_pdf([ANA_LINES, bojan_lines()]))])
    assert people([d.fields for d in found]) == EXPECTED
