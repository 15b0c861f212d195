"""The declaration as people retype it in a mail body or a document of their own."""

from __future__ import annotations

import time

import pytest

from parsers.body import parse_bodies
from parsers.text import read_lines

# --- the applicant's own words between a label and its colon ---------------------------------


@pytest.mark.parametrize(("text", "name", "value"), [
    ("Ime in priimek kandidata: Ana Novak", "full_name", "Ana Novak"),
    ("Ime in priimek kandidata*: Ana Novak", "full_name", "Ana Novak"),
    ("IME IN PRIIMEK KANDIDATA: ANA NOVAK", "full_name", "ANA NOVAK"),
    ("Ime in priimek (kot v osebni izkaznici): Ana Novak", "full_name", "Ana Novak"),
    ("Ime in priimek kandidata:\nAna Novak", "full_name", "Ana Novak"),
    ("Funkcija v organizaciji: vodja kabineta", "job_title", "vodja kabineta"),
    ("Tel./GSM: 041 111 222", "phone", "041 111 222"),
    ("Naziv delodajalca: Občina Kranj", "organization", "Občina Kranj"),
    ("Organizacija / zavod: Zavod za turizem Kranj", "organization", "Zavod za turizem Kranj"),
    ("Naziv občine / zavoda: Občina Kranj", "organization", "Občina Kranj"),
    ("Soglasje za obdelavo podatkov: DA", "consent", True),
])
def test_words_between_the_label_and_its_colon_are_no_value(
        text: str, name: str, value: str | bool) -> None:
    assert read_lines(text).fields.get(name) == value


@pytest.mark.parametrize(("text", "fields"), [
    # A short label with words naming something else stays unread, as before.
    ("Ime občine: Kranj", {"consent": False}),
    ("Občina prebivališča: Kranj", {"consent": False}),
    ("Naslov službene pošte: ana@kranj.si", {"consent": False}),
    # A capitalised word is a value, not a qualifier: the place stays in "Kraj in datum".
    ("Kraj in datum Kranj: 3. 2. 2021", {"consent": False, "place_date": "Kranj: 3. 2. 2021"}),
])
def test_a_qualifier_never_moves_a_value_to_another_field(text: str, fields: dict[str, object],
                                                            ) -> None:
    """Guards for the rule above: it must not grow into guessing."""
    assert read_lines(text).fields == fields


# --- label synonyms --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "name", "value"), [
    ("Službeni e-naslov: ana.novak@kranj.si", "email", "ana.novak@kranj.si"),
    ("Kontaktni e-mail: ana.novak@kranj.si", "email", "ana.novak@kranj.si"),
    ("Mobilni telefon: 041 111 222", "phone", "041 111 222"),
    ("Kontaktni telefon: 041 111 222", "phone", "041 111 222"),
    ("Ustanovitelj: Mestna občina Kranj", "municipality", "Mestna občina Kranj"),
    ("Ustanovitelj zavoda: Mestna občina Kranj", "municipality", "Mestna občina Kranj"),
    ("Moja vloga: direktorica OU", "role", "director"),
    ("Želim se izobraževati na področjih: mediji, krizno komuniciranje", "interests",
     ["media_relations", "crisis"]),
])
def test_label_synonyms(text: str, name: str, value: str | list[str]) -> None:
    assert read_lines(text).fields.get(name) == value


def test_masculine_founder_in_a_sentence_is_no_label() -> None:
    assert "municipality" not in read_lines("Ustanovitelj zavoda je Mestna občina Kranj.").fields


# --- choices in one's own words ---------------------------------------------------------------


def test_jz_is_a_public_institution() -> None:
    assert read_lines("Vrsta organizacije: JZ").fields["organization_type"] == "javni_zavod"


@pytest.mark.parametrize(("written", "expected"), [
    ("nimam izkušenj", "beginner"), ("brez izkušenj", "beginner"),
    ("malo izkušenj", "beginner"), ("nisem izkušena", "beginner"),
    ("nimam še izkušenj", "beginner"),
    # The noun says nothing about which option: left empty, not "experienced".
    ("5 let izkušenj", None), ("izkušnje z mediji", None),
    ("IZKUŠENA", "experienced"), ("izkušen", "experienced"), ("začetnica", "beginner"),
])
def test_experience_in_ones_own_words(written: str, expected: str | None) -> None:
    assert read_lines(f"Izkušnje: {written}").fields.get("experience") == expected


# --- consent refused ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "given"), [
    ("Soglašam z obdelavo osebnih podatkov: ne soglašam", False),
    ("Soglasje: ☐ soglašam ☒ ne soglašam", False),
    ("Soglasje: soglašam / ne soglašam", False),  # both options standing: no answer
    ("Soglasje: ne strinjam se", False),
    ("Soglasje: ☒ soglašam ☐ ne soglašam", True),
    ("Soglašam z obdelavo osebnih podatkov: DA", True),
    ("Soglasje: Da, soglašam.", True),
])
def test_consent_refused_in_words(text: str, given: bool) -> None:
    assert read_lines(text).fields["consent"] is given


# --- whole bodies ------------------------------------------------------------------------------

_OWN_WORDS_BODY = """Pozdravljeni,

pošiljam svoje podatke.

Ime in priimek kandidata: Ana Novak
Funkcija v organizaciji: vodja kabineta
Službeni e-naslov: ana.novak@kranj.si
Tel./GSM: 041 111 222
Vrsta organizacije: JZ
Organizacija / zavod: Zavod za turizem Kranj
Ustanovitelj: Mestna občina Kranj
Sedež: Koroška cesta 1, Kranj
Moja vloga: odnosi z javnostmi
Izkušnje: 5 let
Želim se izobraževati na področjih: mediji, krizno komuniciranje
Soglašam z obdelavo osebnih podatkov: DA

Lep pozdrav, Ana Novak, Zavod za turizem Kranj, tel. 04 238 04 50
"""


def test_a_body_in_ones_own_labels() -> None:
    [found] = parse_bodies(_OWN_WORDS_BODY)
    assert (found.fields, found.problems) == ({
        "full_name": "Ana Novak", "job_title": "vodja kabineta", "email": "ana.novak@kranj.si",
        "phone": "041 111 222", "organization_type": "javni_zavod",
        "organization": "Zavod za turizem Kranj", "municipality": "Mestna občina Kranj",
        "address": "Koroška cesta 1, Kranj", "role": "institution_pr",
        "interests": ["media_relations", "crisis"], "consent": True}, ())


_BULLETS_BODY = """Pozdravljeni,

- Ime in priimek: Ana Novak
- Delovno mesto: svetovalka
- E-pošta: mailto:ana.novak@kranj.si
- Vrsta organizacije: OBČINA
- Naziv organizacije: Občina Kranj
- Vloga: direktorica OU
- Področja, ki me zanimajo:
  - odnosi z mediji
  - javno nastopanje
  - drugo: fotografija
- Soglasje: ✔

Hvala in lep pozdrav,
Ana
"""


def test_bullets_and_a_label_in_ones_own_words_do_not_spill_into_the_role() -> None:
    """'Področja, ki me zanimajo:' was no label, so its bullets became role options."""
    [found] = parse_bodies(_BULLETS_BODY)
    assert found.fields == {
        "full_name": "Ana Novak", "job_title": "svetovalka", "email": "ana.novak@kranj.si",
        "organization_type": "obcina", "organization": "Občina Kranj", "role": "director",
        "interests": ["media_relations", "public_speaking", "other"],
        "interests_other": "fotografija", "consent": True}


# --- hostile lines for the new patterns --------------------------------------------------------


@pytest.mark.parametrize("line", [
    "Ime in priimek " + "a " * 1000 + ":",
    "Ime in priimek " + "a/" * 1000 + ":",
    "Ime in priimek (" + "a" * 2000,
    "Tel." + " a" * 1000 + ":",
    "Izkušnje: " + "nimam " * 330,
    "Izkušnje: " + "nimam a " * 250 + "x",
    "Izkušnje: " + "izkusen" * 280,
    "Soglasje: " + "ne " * 660,
    "Vrsta organizacije: " + "jz " * 600,
    "Službeni " * 220 + ":",
])
def test_hostile_lines_are_read_quickly(line: str) -> None:
    start = time.perf_counter()
    read_lines((line + "\n") * 200)
    assert time.perf_counter() - start < 1.0
