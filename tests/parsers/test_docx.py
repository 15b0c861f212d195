"""DOCX: tables, paragraphs, checkbox controls, legacy form fields, tracked changes."""

from __future__ import annotations

import pytest

from parsers.docx import parse_docx
from parsers.model import TITLE
from tests.parsers.builders import ANA, ANA_MARKS, ANA_TEXT, make_docx, official_rows


@pytest.mark.parametrize(("mark", "unmark"), [
    ("{on}", "{off}"),  # w14:checkbox content controls, as the official form has
    ("{ffon}", "{ffoff}"),  # legacy check box form fields
    ("{symon}", "{symoff}"),  # Wingdings symbols
    ("{wingon}", "{wingoff}"),  # Wingdings characters typed in a run
    ("☒", "☐"), ("[x]", "[ ]"), ("X", ""),
])
def test_official_table_filled(mark: str, unmark: str) -> None:
    data = make_docx(official_rows(ANA_TEXT, ANA_MARKS, mark, unmark),
                     after=["Kraj in datum: Kranj, 3. 2. 2021{tab}", "Podpis: {tab}"])
    assert parse_docx(data) == {**ANA, "place_date": "Kranj, 3. 2. 2021"}


def test_pristine_blank_form_is_a_declaration_with_nothing_filled() -> None:
    assert parse_docx(make_docx(official_rows({}, {}))) == {"consent": False}


def test_deleted_options_and_drugo_text() -> None:
    rows = official_rows({**ANA_TEXT, "interests_other": "video produkcija"},
                         {"interests": ["other"]}, "☒", "☐")
    rows = [(label, [v for v in values if "javni zavod" not in v and "začetnik" not in v])
            if label.startswith(("Vrsta", "Izkušnje")) else (label, values)
            for label, values in rows]
    fields = parse_docx(make_docx(rows))
    assert fields is not None
    assert (fields["organization_type"], fields["experience"]) == ("obcina", "experienced")
    assert (fields["interests"], fields["interests_other"]) == (["other"], "video produkcija")


def test_content_controls_insertions_and_deletions() -> None:
    rows = [
        ("Ime in priimek", ["{sdt:Ana} {ins:Novak}{del:Kovač}"]),
        ("E-naslov", ["{fftext:ana.novak@kranj.si}"]),
        ("Telefon", ["{placeholder:Kliknite tukaj za vnos besedila.}"]),
        ("Vrsta organizacije", ["{on} občina", "{off} javni zavod občine"]),
        ("Vloga pri stikih z javnostmi", ["{off} strokovni sodelavec", "{on} direktor / "
                                          "direktorica občinske uprave"]),
    ]
    assert parse_docx(make_docx(rows)) == {
        "full_name": "Ana Novak", "email": "ana.novak@kranj.si", "organization_type": "obcina",
        "role": "director", "consent": False}


def test_label_value_paragraphs_without_diacritics() -> None:
    lines = ["IZJAVA O PRISTOPU K MREZI KOMUNIKATORJEV V OBCINAH IN OBCINSKIH JAVNIH ZAVODIH",
             "ime in priimek:{tab}Janez Kovac", "E-posta: janez@sentjur.si",
             "Delovno mesto: zupan", "Vrsta organizacije: obcina",
             "Naziv organizacije: Obcina Sentjur", "Vloga: zupan",
             "X Soglasam, da Skupnost obcin Slovenije moje osebne podatke obdeluje."]
    assert parse_docx(make_docx(before=lines)) == {
        "full_name": "Janez Kovac", "job_title": "zupan", "email": "janez@sentjur.si",
        "organization_type": "obcina", "organization": "Obcina Sentjur", "role": "mayor",
        "consent": True}


def test_label_and_value_in_one_cell_and_four_column_rows() -> None:
    rows = [("Ime in priimek: Ana Novak", ["E-naslov: ana@kranj.si"]),
            ("Vrsta organizacije", ["☒ javni zavod občine"]),
            ("Občina (ustanoviteljica javnega zavoda)", ["Kranj"]),
            ("Vloga pri stikih z javnostmi", ["zaposlena v javnem zavodu"])]
    assert parse_docx(make_docx(rows, before=[TITLE])) == {
        "full_name": "Ana Novak", "email": "ana@kranj.si", "organization_type": "javni_zavod",
        "municipality": "Kranj", "role": "institution_pr", "consent": False}


def test_an_invoice_is_no_declaration() -> None:
    data = make_docx([("Račun št.", ["2021-17"]), ("Naslov", ["Cankarjeva 1"]),
                      ("Znesek", ["120,00 EUR"])], before=["RAČUN"])
    assert parse_docx(data) is None
