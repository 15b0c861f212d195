"""The member exports: CSV, XLSX, JSON lines and the terminal table, read back and compared."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from intake.export import (
    COLUMNS,
    MemberRow,
    clean_text,
    members_csv,
    members_json_lines,
    members_table,
    members_xlsx,
    neutralize_formula,
    role_label,
)

TZ = ZoneInfo("Europe/Ljubljana")

ANA = MemberRow(
    id=1,
    email="ana.novak@kranj.si",
    full_name="Ana Novak",
    job_title="svetovalka za odnose z javnostmi",
    phone="+386 4 237 31 00",
    organization_type="obcina",
    organization="Mestna občina Kranj",
    municipality="Kranj",
    address="Slovenski trg 1, 4000 Kranj",
    role="pr_staff",
    experience="experienced",
    interests=("media_relations", "crisis"),
    place_date="Kranj, 1. 2. 2021",
    joined_at=datetime(2021, 1, 30, 9, 0, tzinfo=UTC),
    updated_at=datetime(2021, 2, 2, 8, 15, tzinfo=UTC),
)
ZIGA = MemberRow(
    id=2,
    email="ziga.sostaric@zavod-sentjur.si",
    full_name="Žiga Šoštarič",
    job_title='=HYPERLINK("http://x.example","klik")',
    organization_type="javni_zavod",
    organization="Zavod za kulturo Šentjur",
    municipality="Šentjur",
    role="institution_pr",
    interests=("social_media", "other"),
    interests_other="podkasti",
    joined_at=datetime(2021, 2, 3, 14, 30, tzinfo=UTC),
    updated_at=datetime(2021, 2, 3, 14, 30, tzinfo=UTC),
)
ROWS = [ANA, ZIGA]

ANA_VALUES = {
    "id": "1",
    "full_name": "Ana Novak",
    "job_title": "svetovalka za odnose z javnostmi",
    "email": "ana.novak@kranj.si",
    "phone": "+386 4 237 31 00",
    "organization_type": "obcina",
    "organization": "Mestna občina Kranj",
    "municipality": "Kranj",
    "address": "Slovenski trg 1, 4000 Kranj",
    "role": "pr_staff",
    "experience": "experienced",
    "interests": "media_relations; crisis",
    "interests_other": "",
    "consent": "true",
    "place_date": "Kranj, 1. 2. 2021",
    "joined_at": "2021-01-30T10:00:00+01:00",
    "updated_at": "2021-02-02T09:15:00+01:00",
}


def test_columns_are_the_declaration_fields_between_id_and_the_times() -> None:
    assert COLUMNS == (
        "id", "full_name", "job_title", "email", "phone", "organization_type", "organization",
        "municipality", "address", "role", "experience", "interests", "interests_other",
        "consent", "place_date", "joined_at", "updated_at",
    )


def test_csv_has_a_bom_and_reads_back_to_the_rows() -> None:
    data = members_csv(ROWS, tz=TZ)
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in data
    records = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert list(records[0]) == list(COLUMNS)
    assert records[0] == ANA_VALUES
    assert records[1]["full_name"] == "Žiga Šoštarič"
    assert records[1]["interests"] == "social_media; other"
    assert records[1]["interests_other"] == "podkasti"
    assert records[1]["joined_at"] == "2021-02-03T15:30:00+01:00"


def test_csv_makes_formulas_inert_but_leaves_phone_numbers_alone() -> None:
    records = list(csv.DictReader(io.StringIO(members_csv(ROWS).decode("utf-8-sig"))))
    assert records[1]["job_title"] == '\'=HYPERLINK("http://x.example","klik")'
    assert records[0]["phone"] == "+386 4 237 31 00"
    assert neutralize_formula("@SUM(A1)") == "'@SUM(A1)"
    assert neutralize_formula("+1+cmd|' /C calc'!A0") == "'+1+cmd|' /C calc'!A0"
    assert neutralize_formula("-2+3") == "-2+3"  # digits and signs call nothing
    assert neutralize_formula("Ana - Novak") == "Ana - Novak"


def test_csv_without_a_zone_keeps_utc() -> None:
    records = list(csv.DictReader(io.StringIO(members_csv([ANA]).decode("utf-8-sig"))))
    assert records[0]["joined_at"] == "2021-01-30T09:00:00+00:00"


def test_json_lines_carry_the_same_values_typed() -> None:
    text = members_json_lines(ROWS, tz=TZ)
    assert text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == 2
    assert "Žiga Šoštarič" in lines[1]  # not \u-escaped
    first = json.loads(lines[0])
    assert list(first) == list(COLUMNS)
    assert first == {
        **ANA_VALUES,
        "id": 1,
        "interests": ["media_relations", "crisis"],
        "consent": True,
    }
    second = json.loads(lines[1])
    assert second["job_title"] == '=HYPERLINK("http://x.example","klik")'  # raw in JSON
    assert members_json_lines([]) == ""


def test_csv_and_json_lines_agree() -> None:
    from_csv = list(csv.DictReader(io.StringIO(members_csv(ROWS, tz=TZ).decode("utf-8-sig"))))
    from_json = [json.loads(line) for line in members_json_lines(ROWS, tz=TZ).splitlines()]
    for csv_record, json_record in zip(from_csv, from_json, strict=True):
        as_text = {
            key: "; ".join(value) if isinstance(value, list)
            else str(value).lower() if isinstance(value, bool)
            else str(value)
            for key, value in json_record.items()
        }
        as_text["job_title"] = neutralize_formula(as_text["job_title"])
        assert csv_record == as_text


def test_xlsx_reads_back_to_the_rows() -> None:
    sheet = load_workbook(io.BytesIO(members_xlsx(ROWS, tz=TZ))).active
    assert sheet.title == "Člani"
    assert sheet.freeze_panes == "A2"
    header = [cell.value for cell in sheet[1]]
    assert header == list(COLUMNS)
    assert all(cell.font.bold for cell in sheet[1])
    first = dict(zip(COLUMNS, [cell.value for cell in sheet[2]], strict=True))
    assert first == {
        **ANA_VALUES,
        "id": 1,
        "consent": True,
        "interests_other": None,  # openpyxl reads an empty string back as an empty cell
        "joined_at": datetime(2021, 1, 30, 10, 0),
        "updated_at": datetime(2021, 2, 2, 9, 15),
    }
    second = {name: cell for name, cell in zip(COLUMNS, sheet[3], strict=True)}
    assert second["job_title"].value == '=HYPERLINK("http://x.example","klik")'
    assert second["job_title"].data_type == "s"  # a string, not a formula
    assert second["full_name"].value == "Žiga Šoštarič"
    assert sheet.column_dimensions["B"].width == len("Žiga Šoštarič") + 2
    assert sheet.max_row == 3


def test_table_is_fixed_width_with_slovenian_labels() -> None:
    assert members_table(ROWS, tz=TZ) == (
        "Ime in priimek  E-naslov                        Organizacija              Občina   "
        "Vloga                              Pridružen/-a\n"
        "--------------  ------------------------------  ------------------------  -------  "
        "---------------------------------  -----------------\n"
        "Ana Novak       ana.novak@kranj.si              Mestna občina Kranj       Kranj    "
        "stiki z javnostmi v občini         30. 1. 2021 10:00\n"
        "Žiga Šoštarič   ziga.sostaric@zavod-sentjur.si  Zavod za kulturo Šentjur  Šentjur  "
        "stiki z javnostmi v javnem zavodu  3. 2. 2021 15:30\n"
        "Skupaj: 2\n"
    )
    assert members_table([]) == "Ni članov.\n"


def test_table_disarms_terminal_escapes_and_cuts_long_values() -> None:
    hostile = MemberRow(
        id=3,
        email="x@y.si",
        full_name="Eva\x1b[2J\nKos\u202eabc",
        organization="O" * 60,
        joined_at=datetime(2021, 2, 3, tzinfo=UTC),
        updated_at=datetime(2021, 2, 3, tzinfo=UTC),
    )
    line = members_table([hostile]).splitlines()[2]
    assert "\x1b" not in line
    assert line.startswith("Eva\ufffd[2J Kos\ufffdabc  ")
    assert "O" * 33 + "…" in line and "O" * 34 not in line
    assert clean_text("a\tb\r\nc\x00") == "a b  c\ufffd"


def test_role_labels() -> None:
    assert role_label("mayor") == "župan / županja, ki stike z javnostmi opravlja sam / sama"
    assert role_label("mayor", short=True) == "župan/-ja"
    assert role_label("astronaut") == "astronaut"


def test_from_fields_takes_a_stored_fields_dict() -> None:
    fields = {
        "full_name": "Ana Novak", "email": "ana.novak@kranj.si", "role": "pr_staff",
        "interests": ["media_relations", "crisis"], "consent": True, "phone": None,
    }
    moment = datetime(2021, 1, 30, 9, 0, tzinfo=UTC)
    row = MemberRow.from_fields(5, fields, joined_at=moment, updated_at=moment)
    assert row == MemberRow(
        id=5, full_name="Ana Novak", email="ana.novak@kranj.si", role="pr_staff",
        interests=("media_relations", "crisis"), joined_at=moment, updated_at=moment,
    )
