"""The shared grammar: labels, marks, choices, values."""

from __future__ import annotations

import pytest

from parsers.model import TITLE
from parsers.text import clean_email, fold, match_label, normalize, read_lines
from tests.parsers.builders import ANA, ANA_LINES


def test_fold_keeps_length_and_drops_diacritics() -> None:
    assert fold("Občina ŠENTJUR Đakovo ć") == "obcina sentjur dakovo c"
    assert normalize("  Ana\u00a0  NOVAK\t") == "ana novak"


def test_the_filled_form_as_lines() -> None:
    assert read_lines("\n".join(ANA_LINES)).fields == ANA


def test_no_diacritics_and_capitals() -> None:
    text = "\n".join(fold(line).upper() for line in ANA_LINES)
    fields = read_lines(text).fields
    assert fields == {**ANA, "full_name": "ANA NOVAK", "job_title": fold(
        ANA["job_title"]).upper(), "email": "ANA.NOVAK@KRANJ.SI",  # type: ignore[arg-type]
        "organization": "MESTNA OBCINA KRANJ", "address": "SLOVENSKI TRG 1, 4000 KRANJ"}


@pytest.mark.parametrize(("label", "name"), [
    ("Ime in priimek", "full_name"), ("IME IN PRIIMEK", "full_name"),
    ("Ime, priimek", "full_name"), ("ime  in   priimek", "full_name"),
    ("E-naslov", "email"), ("E-pošta", "email"), ("Email", "email"), ("e-mail", "email"),
    ("E-posta", "email"), ("Elektronski naslov", "email"),
    ("Telefon", "phone"), ("Tel.", "phone"),
    ("Delovno mesto / funkcija", "job_title"), ("Delovno mesto", "job_title"),
    ("Naziv organizacije", "organization"),
    ("Obcina (ustanoviteljica javnega zavoda)", "municipality"), ("Občina", "municipality"),
    ("Vloga pri stikih z javnostmi", "role"), ("Vloga", "role"),
    ("Kraj in datum", "place_date"), ("Soglasje", "consent"),
])
def test_label_variants(label: str, name: str) -> None:
    found = match_label(label + ": X")
    assert found is not None and (found.name, found.value) == (name, "X")


def test_obcina_without_colon_is_not_the_municipality_label() -> None:
    assert match_label("Občina Kranj") is None
    assert read_lines("Naziv organizacije:\nObčina Kranj").fields["organization"] == "Občina Kranj"


@pytest.mark.parametrize("mark", ["☒", "☑", "✓", "✔", "■", "[x]", "[X]", "(x)", "(X)", "X", "x"])
def test_each_mark_chooses(mark: str) -> None:
    text = ("Vloga pri stikih z javnostmi:\n"
            "☐ strokovni sodelavec / strokovna sodelavka za stike z javnostmi v občini\n"
            f"{mark} direktor / direktorica občinske uprave\n"
            "☐ župan / županja, ki stike z javnostmi opravlja sam / sama")
    assert read_lines(text).fields["role"] == "director"


@pytest.mark.parametrize("unmarked", ["☐", "[ ]", "( )", ""])
def test_unmarked_options_are_no_choice(unmarked: str) -> None:
    text = (f"Vrsta organizacije:\n{unmarked} občina\n{unmarked} javni zavod občine")
    assert "organization_type" not in read_lines(text).fields


def test_deleted_options_leave_the_choice() -> None:
    text = ("Vrsta organizacije: javni zavod občine\nVloga pri stikih z javnostmi:\n"
            "zaposleni / zaposlena v javnem zavodu občine, ki opravlja naloge stikov z javnostmi\n"
            "Izkušnje na področju komuniciranja:\nizkušen / izkušena\n"
            "Področja, na katerih želim nadgraditi znanje:\njavno nastopanje\ndrugo: video")
    fields = read_lines(text).fields
    assert fields == {"organization_type": "javni_zavod", "role": "institution_pr",
                      "experience": "experienced",
                      "interests": ["public_speaking", "other"], "interests_other": "video",
                      "consent": False}


@pytest.mark.parametrize(("written", "role"), [
    ("direktorica občinske uprave", "director"),
    ("županja", "mayor"), ("zupan", "mayor"),
    ("strokovna sodelavka za stike z javnostmi", "pr_staff"),
    ("zaposlena v javnem zavodu, stiki z javnostmi", "institution_pr"),
    ("druga zaposlena v občinski upravi", "other_employee"),
])
def test_written_out_role(written: str, role: str) -> None:
    assert read_lines(f"Vloga pri stikih z javnostmi: {written}").fields["role"] == role


def test_two_roles_marked_is_no_role() -> None:
    text = ("Vloga pri stikih z javnostmi:\n[x] direktor / direktorica občinske uprave\n"
            "[x] župan / županja, ki stike z javnostmi opravlja sam / sama")
    assert "role" not in read_lines(text).fields


def test_all_interests_standing_unmarked_is_none() -> None:
    lines = ["Področja, na katerih želim nadgraditi znanje:", "odnosi z mediji",
             "družbena omrežja", "krizno komuniciranje", "pisanje besedil in sporočil za javnost",
             "spletne strani in digitalna orodja", "javno nastopanje", "interno komuniciranje",
             "drugo:"]
    assert "interests" not in read_lines("\n".join(lines)).fields


@pytest.mark.parametrize(("line", "given"), [
    ("Soglasje: ☒ Soglašam", True), ("Soglasje: ☐ Soglašam", False), ("Soglasje: da", True),
    ("Soglasje: DA", True), ("Soglasje: ne", False), ("Soglasje:", False),
    ("[x] Soglašam, da Skupnost občin Slovenije ...", True),
    ("[ ] Soglašam, da Skupnost občin Slovenije ...", False),
    ("Soglašam z obdelavo osebnih podatkov.", True),
])
def test_consent(line: str, given: bool) -> None:
    assert read_lines(line).fields["consent"] is given


@pytest.mark.parametrize(("raw", "address"), [
    ("ana.novak@kranj.si", "ana.novak@kranj.si"),
    ("mailto:ana.novak@kranj.si", "ana.novak@kranj.si"),
    ("<ana.novak@kranj.si>.", "ana.novak@kranj.si"),
    ("Ana Novak <ana@kranj.si>;", "ana@kranj.si"),
    ("ana.novak(at)kranj.si", ""), ("ana@kranj", ""), ("ana..novak@kranj.si", ""), ("", ""),
])
def test_clean_email(raw: str, address: str) -> None:
    assert clean_email(raw) == address


def test_invalid_email_is_missing() -> None:
    assert "email" not in read_lines("E-naslov: ana(at)kranj.si").fields


def test_placeholders_are_empty() -> None:
    fields = read_lines("Ime in priimek: ________\nTelefon: ......\nNaziv organizacije: /")
    assert fields.fields == {"consent": False}


def test_a_cv_is_not_a_declaration() -> None:
    cv = ("Ime in priimek: Ana Novak\nNaslov: Cankarjeva 1, Ljubljana\nTelefon: 041 111 222\n"
          "E-pošta: ana@gmail.com\nDelovne izkušnje: 2015-2020 novinarka")
    assert read_lines(cv).is_declaration is False


def test_title_alone_is_a_declaration() -> None:
    assert read_lines(TITLE).is_declaration is True


def test_wrapped_labels_of_a_pdf_table() -> None:
    text = ("Občina (ustanoviteljica\njavnega zavoda)\n"
            "Izkušnje na področju ☐ začetnik / začetnica\n"
            "komuniciranja ☒ izkušen / izkušena\nKraj in datum: Kranj, 3. 2. 2021 Podpis:")
    assert read_lines(text).fields == {"experience": "experienced", "consent": False,
                                       "place_date": "Kranj, 3. 2. 2021"}


def test_wingdings_boxes_left_in_a_pdf_text_layer_are_marks() -> None:
    """Word's PDF export of boxes set in Wingdings leaves private-use code points."""
    from parsers.text import read_lines

    text = "\n".join([
        "IZJAVA O PRISTOPU K MREŽI KOMUNIKATORJEV V OBČINAH IN OBČINSKIH JAVNIH ZAVODIH",
        "Vrsta organizacije \uf0a8 občina", "\uf0fe javni zavod občine",
        "Vloga pri stikih z javnostmi \uf0a8 direktor / direktorica občinske uprave",
        "\uf0fe zaposleni / zaposlena v javnem zavodu občine, ki opravlja naloge stikov z "
        "javnostmi",
    ])
    fields = read_lines(text).fields
    assert (fields["organization_type"], fields["role"]) == ("javni_zavod", "institution_pr")


def test_labels_numbered_as_people_number_a_retyped_form() -> None:
    from parsers.text import read_lines

    text = "\n".join([
        "Izjava o pristopu k mreži komunikatorjev",
        "1. Ime in priimek: Ana Novak", "2) Delovno mesto: svetovalka",
        "a) E-naslov: ana.novak@kranj.si", "b. Vrsta organizacije: občina",
        "(c) Naziv organizacije: Mestna občina Kranj",
        "iv. Vloga pri stikih z javnostmi:", "(x) direktor / direktorica občinske uprave",
        "( ) župan / županja", "(x) Soglašam, da Skupnost občin Slovenije moje osebne podatke "
        "obdeluje.",
    ])
    assert read_lines(text).fields == {
        "full_name": "Ana Novak", "job_title": "svetovalka", "email": "ana.novak@kranj.si",
        "organization_type": "obcina", "organization": "Mestna občina Kranj",
        "role": "director", "consent": True}


def test_own_words_for_organisation_role_and_consent() -> None:
    """'Naziv zavoda', a role described as 'odnosi z javnostmi', consent as 'strinjam se'."""
    from parsers.text import read_lines

    text = "\n".join([
        "Izjava o pristopu k mreži komunikatorjev",
        "Ime: Ana", "Priimek: Novak", "Elektronski naslov: ana.novak@kranj.si",
        "Funkcija: svetovalka", "Vrsta organizacije: javni zavod",
        "Naziv zavoda: Zavod za turizem Kranj", "Ustanoviteljica: Mestna občina Kranj",
        "Vloga: odnosi z javnostmi", "Soglasje: strinjam se",
    ])
    assert read_lines(text).fields == {
        "full_name": "Ana Novak", "job_title": "svetovalka", "email": "ana.novak@kranj.si",
        "organization_type": "javni_zavod", "organization": "Zavod za turizem Kranj",
        "municipality": "Mestna občina Kranj", "role": "institution_pr", "consent": True}


@pytest.mark.parametrize(
    ("kind", "role", "expected"),
    [
        ("javni zavod občine", "odnosi z javnostmi", "institution_pr"),
        ("javni zavod občine", "PR", "institution_pr"),
        ("občina", "odnosi z javnostmi", "pr_staff"),
        ("javni zavod občine", "strokovna sodelavka za stike z javnostmi v občini", "pr_staff"),
    ],
)
def test_a_role_in_ones_own_words_follows_the_organisation(kind: str, role: str,
                                                            expected: str) -> None:
    reading = read_lines(f"Ime in priimek: Ana Novak\nVrsta organizacije: {kind}\n"
                         f"Naziv organizacije: Knjižnica Kranj\n"
                         f"Vloga pri stikih z javnostmi: {role}\n")
    assert reading.fields["role"] == expected
