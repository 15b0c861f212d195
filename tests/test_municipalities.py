"""Matching what applicants type to the 212 municipalities."""

from __future__ import annotations

import pytest

from intake.municipalities import (
    Municipalities,
    Municipality,
    fold,
    load_municipalities,
    parse_rows,
)

MUNICIPALITIES = load_municipalities()


def test_the_list() -> None:
    assert len(MUNICIPALITIES) == 212
    assert MUNICIPALITIES.by_name["Kranj"] == Municipality(52, "Kranj", "Mestna občina Kranj", True)
    assert MUNICIPALITIES.by_name["Ankaran"].urban is False
    assert sum(m.urban for m in MUNICIPALITIES.all) == 12


def test_every_name_and_official_name_matches_itself() -> None:
    for m in MUNICIPALITIES.all:
        assert MUNICIPALITIES.match(m.name) == m, m.name
        assert MUNICIPALITIES.match(m.official_name) == m, m.official_name
        assert MUNICIPALITIES.match(fold(m.official_name).upper()) == m, m.official_name
        assert MUNICIPALITIES.find_in(f"Javni zavod za kulturo {m.name}") == m, m.name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # prefixes, case, diacritics
        ("Mestna občina Kranj", "Kranj"),
        ("MESTNA OBČINA LJUBLJANA", "Ljubljana"),
        ("MO Ljubljana", "Ljubljana"),
        ("MOL", "Ljubljana"),
        ("Obcina Skofja Loka", "Škofja Loka"),
        ("občina škofja loka", "Škofja Loka"),
        ("Občina: Žalec", "Žalec"),
        ("Obč. Šentjur", "Šentjur"),
        ("Kranj, Mestna občina", "Kranj"),
        ("Občinska uprava Občine Ormož", "Ormož"),
        # genitive and other cases
        ("Občine Škofje Loke", "Škofja Loka"),
        ("Mestne občine Murske Sobote", "Murska Sobota"),
        ("Novem mestu", "Novo mesto"),
        ("Kopru", "Koper"),
        ("Občine Slovenj Gradec", "Slovenj Gradec"),
        # hyphens, punctuation, spacing
        ("Hoče-Slivnica", "Hoče - Slivnica"),
        ("Log–Dragomer", "Log - Dragomer"),
        ("Rače  Fram", "Rače - Fram"),
        ("Dobrova-Polhov Gradec", "Dobrova - Polhov Gradec"),
        ("Šempeter-Vrtojba", "Šempeter - Vrtojba"),
        ("Renče – Vogrsko", "Renče - Vogrsko"),
        # aliases and short forms
        ("Kanal ob Soči", "Kanal"),
        ("Šempeter pri Gorici", "Šempeter - Vrtojba"),
        ("Sv. Jurij ob Ščavnici", "Sveti Jurij ob Ščavnici"),
        ("Sveta Trojica", "Sveta Trojica v Slovenskih goricah"),
        ("Sv. Trojica v Slov. goricah", "Sveta Trojica v Slovenskih goricah"),
        ("Sv. Ana", "Sveta Ana"),
        ("Sveti Andraž", "Sveti Andraž v Slovenskih goricah"),
        ("Cerklje", "Cerklje na Gorenjskem"),
        ("Ravne", "Ravne na Koroškem"),
        ("Zagorje", "Zagorje ob Savi"),
        ("Dol", "Dol pri Ljubljani"),
        ("Hrpelje", "Hrpelje - Kozina"),
        ("Mokronog", "Mokronog - Trebelno"),
        ("Ljubljana mesto", "Ljubljana"),
        ("Občina Šentjur pri Celju", "Šentjur"),
        # bilingual names, and a municipality with its office
        ("Občina Lendava/Lendva", "Lendava"),
        ("Občina Lendava - Lendva Község", "Lendava"),
        ("Občina Piran / Comune di Pirano", "Piran"),
        ("Comune di Pirano", "Piran"),
        ("Mestna občina Koper - Comune città di Capodistria", "Koper"),
        ("Občina Izola (Comune di Isola)", "Izola"),
        ("Mestna občina Kranj - Urad župana", "Kranj"),
        ("Občina Kranj / Občina Ptuj", None),
        # names that are prefixes of others stay themselves
        ("Mirna", "Mirna"),
        ("Mirna Peč", "Mirna Peč"),
        ("Grad", "Grad"),
        ("Gornji Grad", "Gornji Grad"),
        ("Ribnica", "Ribnica"),
        ("Ribnica na Pohorju", "Ribnica na Pohorju"),
        ("Kranjska gora", "Kranjska Gora"),
        ("Ig", "Ig"),
        ("Gorje", "Gorje"),
        # close misspellings
        ("Ljubjana", "Ljubljana"),
        ("Marbor", "Maribor"),
        ("Mariborr", "Maribor"),
        ("Lutomer", "Ljutomer"),
        ("Slovenska Bisrtica", "Slovenska Bistrica"),
        ("Ivancna gorca", "Ivančna Gorica"),
        ("Šmarje pri Jelšh", "Šmarje pri Jelšah"),
        # ambiguous or unknown: no guess
        ("Sveti Jurij", None),
        ("Bistrica", None),
        ("Šmartno", None),
        ("Kostanjevica", None),
        ("Mestna občina", None),
        ("Občina", None),
        ("", None),
        ("Zagreb", None),
        ("Trst", None),
        ("Ic", None),  # too short to forgive
    ],
)
def test_match(text: str, expected: str | None) -> None:
    found = MUNICIPALITIES.match(text)
    assert (found.name if found else None) == expected


def test_close_misspelling_accepted_only_when_unambiguous() -> None:
    rows = [
        Municipality(1, "Kovor", "Občina Kovor", False),
        Municipality(2, "Kokor", "Občina Kokor", False),
        Municipality(3, "Bled", "Občina Bled", False),
    ]
    small = Municipalities(rows)
    assert small.match("Kosor") is None  # one step from both
    assert small.match("Blet") == rows[2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zavod za turizem Škofja Loka", "Škofja Loka"),
        ("Knjižnica Ivana Potrča Ptuj", "Ptuj"),
        ("Javni zavod Cerkno", "Cerkno"),
        ("Osnovna šola Dol pri Ljubljani", "Dol pri Ljubljani"),
        ("Zavod za kulturo Mirna Peč", "Mirna Peč"),
        ("Javni zavod Mirna", "Mirna"),
        ("Zavod za turizem in šport Gorje", "Gorje"),
        ("Osnovna šola Log - Dragomer", "Log - Dragomer"),
        ("Turistično informacijski center Gornji Grad", "Gornji Grad"),
        ("Javni zavod Sveta Ana", "Sveta Ana"),
        ("Glasbena šola Slovenj Gradec", "Slovenj Gradec"),
        ("Knjižnica Mirana Jarca Novo mesto", "Novo mesto"),
        ("Ljudska univerza Kranjska Gora", "Kranjska Gora"),
        ("ZAVOD ZA TURIZEM BLED", "Bled"),
        ("zavod za turizem skofja loka", "Škofja Loka"),
        ("Javni zavod za turizem v Kopru", "Koper"),
        ("Razvojni center Sveti Jurij ob Ščavnici", "Sveti Jurij ob Ščavnici"),
        ("Dom starejših občanov Šmarje pri Jelšah", "Šmarje pri Jelšah"),
        ("Mladinski center Dravograd", "Dravograd"),
        ("Zdravstveni dom dr. Adolfa Drolca Maribor", "Maribor"),
        ("Lekarna Ljubljana", "Ljubljana"),
        ("Mestna občina Ljubljana, Zavod Tivoli", "Ljubljana"),
        ("Zavod za šport Ribnica na Pohorju", "Ribnica na Pohorju"),
        ("Javni zavod Šmartno pri Litiji", "Šmartno pri Litiji"),
        ("Knjižnica Ksaverja Meška Slovenj Gradec", "Slovenj Gradec"),
        ("Javni zavod Kanal ob Soči", "Kanal"),
        ("Center za kulturo v Mestni občini Novo mesto", "Novo mesto"),
        ("Zavod za turizem Zagorje", "Zagorje ob Savi"),
        ("Zavod Ptuj in Kranj", None),  # two towns: a person decides
        ("Center za socialno delo", None),
        ("Tehnični kanal d.o.o.", None),  # "kanal" written small is a word, not Kanal
        ("Zavod za mirna druženja", None),  # a small "mirna" is an adjective
        ("Zavod Grad Rajhenburg Brežice", None),
        ("Občinska uprava", None),
        ("", None),
    ],
)
def test_find_in(text: str, expected: str | None) -> None:
    found = MUNICIPALITIES.find_in(text)
    assert (found.name if found else None) == expected


def test_find_in_falls_back_to_match_for_a_misspelt_name() -> None:
    found = MUNICIPALITIES.find_in("Ljubjana")
    assert found is not None and found.name == "Ljubljana"


def test_parse_rows() -> None:
    rows = parse_rows(
        "code,name,official_name,urban\n7,Brda,Občina Brda,0\n11,Celje,Mestna občina Celje,1\n"
    )
    assert rows == [
        Municipality(7, "Brda", "Občina Brda", False),
        Municipality(11, "Celje", "Mestna občina Celje", True),
    ]
