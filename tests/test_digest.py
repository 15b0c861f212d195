"""The daily digest, rendered from a hand-built day: text, HTML, chart, message, attachments."""

from __future__ import annotations

import csv
import dataclasses
import email
import email.policy
import io
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from intake.digest import (
    DigestData,
    FailedReply,
    SubmissionRow,
    build_digest,
    chart_svg,
    is_empty,
    plural,
    reason_text,
    render_html,
    render_text,
    subject,
)
from intake.export import COLUMNS, MemberRow, members_json_lines

TZ = ZoneInfo("Europe/Ljubljana")
DAY = date(2021, 2, 3)  # a Wednesday


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


ANA = MemberRow(
    id=1, email="ana.novak@kranj.si", full_name="Ana Novak",
    job_title="svetovalka za odnose z javnostmi", phone="+386 4 237 31 00",
    organization_type="obcina", organization="Mestna občina Kranj", municipality="Kranj",
    role="pr_staff", experience="experienced", interests=("media_relations", "crisis"),
    joined_at=at(2021, 1, 30, 9, 0), updated_at=at(2021, 1, 30, 9, 0),
)
BOSTJAN = MemberRow(
    id=2, email="bostjan.zagar@sentjur.si", full_name="Boštjan Žagar",
    job_title="direktor občinske uprave", organization_type="obcina",
    organization="Občina Šentjur", municipality="Šentjur", role="director",
    joined_at=at(2021, 2, 1, 12, 0), updated_at=at(2021, 2, 1, 12, 0),
)
CVETKA = MemberRow(
    id=3, email="cvetka.cuk@zavod-kranj.si", full_name="Cvetka Čuk",
    job_title="vodja komuniciranja", organization_type="javni_zavod",
    organization="Zavod za turizem", municipality="Kranj", role="institution_pr",
    interests=("social_media", "other"), interests_other="podkasti",
    joined_at=at(2021, 2, 3, 9, 12), updated_at=at(2021, 2, 3, 9, 12),
)
DARJA = MemberRow(
    id=4, email="darja@bled.si", full_name="Darja <script>alert(1)</script>",
    job_title="županja", organization_type="obcina", organization="Občina Bled",
    municipality="Bled", role="mayor",
    joined_at=at(2021, 2, 3, 14, 30), updated_at=at(2021, 2, 3, 14, 30),
)
MEMBERS = (ANA, BOSTJAN, CVETKA, DARJA)

REVIEW = (
    SubmissionRow(
        id=17, message_id="<a@zavod-x.si>", sender="eva.kos@zavod-x.si", full_name="Eva Kos",
        organization="Zavod X", received_at=at(2021, 2, 3, 10, 5), status="needs_review",
        reasons=("unknown_municipality", "late"), detail="Občina »Nekje« ni na seznamu.",
    ),
    SubmissionRow(
        id=18, message_id="<b@obcina-y.si>", sender="tajnistvo@obcina-y.si",
        received_at=at(2021, 2, 2, 22, 40), status="needs_review",
        reasons=("unreadable_attachment",), detail="izjava.jpg: slika brez besedila",
    ),
)
INCOMPLETE = (
    SubmissionRow(
        id=19, message_id="<c@obcina-z.si>", sender="franc.horvat@obcina-z.si",
        full_name="Franc Horvat", received_at=at(2021, 2, 3, 11, 0), status="incomplete",
        reasons=("missing:role", "missing:consent"),
    ),
)
REJECTED = (
    SubmissionRow(
        id=20, message_id="<d@podjetje.si>", sender="gregor@podjetje.si",
        full_name="Gregor Mlakar", organization="Podjetje d.o.o.",
        received_at=at(2021, 2, 3, 15, 45), status="rejected", reasons=("not_eligible",),
        detail="d.o.o. ni občina",
    ),
)

SEEDED = DigestData(
    day=DAY,
    timezone=TZ,
    new_members=(CVETKA, DARJA),
    needs_review=REVIEW,
    incomplete=INCOMPLETE,
    rejected=REJECTED,
    ignored_count=4,
    failed_replies=(
        FailedReply("franc.horvat@obcina-z.si", "Re: Izjava o pristopu",
                    "550 5.1.1 mailbox unavailable"),
    ),
    all_members=MEMBERS,
    members_per_day=((date(2021, 1, 30), 1), (date(2021, 2, 1), 1), (DAY, 2)),
    open_reviews=3,
)

EMPTY = DigestData(
    day=DAY, timezone=TZ, ignored_count=4, all_members=MEMBERS,
    members_per_day=SEEDED.members_per_day,
)


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "novih članov"), (1, "nov član"), (2, "nova člana"), (3, "novi člani"),
        (4, "novi člani"), (5, "novih članov"), (11, "novih članov"), (12, "novih članov"),
        (14, "novih članov"), (21, "novih članov"), (101, "nov član"), (102, "nova člana"),
        (103, "novi člani"), (111, "novih članov"),
    ],
)
def test_plural_follows_the_slovenian_dual(n: int, expected: str) -> None:
    assert plural(n, "nov član", "nova člana", "novi člani", "novih članov") == expected


def test_subject_names_what_needs_the_coordinator() -> None:
    assert subject(SEEDED) == (
        "Mreža komunikatorjev: povzetek za 3. 2. 2021 "
        "(2 nova člana, 2 v pregled, 1 neposlan odgovor)"
    )
    assert subject(EMPTY) == "Mreža komunikatorjev: povzetek za 3. 2. 2021 (nič novega)"
    one = dataclasses.replace(EMPTY, new_members=(CVETKA,), needs_review=REVIEW[:1])
    assert subject(one) == "Mreža komunikatorjev: povzetek za 3. 2. 2021 (1 nov član, 1 v pregled)"
    answered_only = dataclasses.replace(EMPTY, incomplete=INCOMPLETE * 3, rejected=REJECTED * 5)
    assert subject(answered_only) == (
        "Mreža komunikatorjev: povzetek za 3. 2. 2021 "
        "(3 nepopolne prijave, 5 zavrnjenih prijav)"
    )


def test_is_empty_counts_everything_but_ignored_mail() -> None:
    assert is_empty(EMPTY)
    assert not is_empty(SEEDED)
    one_thing_each = [
        dataclasses.replace(EMPTY, new_members=(CVETKA,)),
        dataclasses.replace(EMPTY, updated_members=(ANA,)),
        dataclasses.replace(EMPTY, needs_review=REVIEW),
        dataclasses.replace(EMPTY, incomplete=INCOMPLETE),
        dataclasses.replace(EMPTY, rejected=REJECTED),
        dataclasses.replace(EMPTY, failed_replies=(FailedReply("a@b.si", "Re: x", "550"),)),
    ]
    assert [is_empty(data) for data in one_thing_each] == [False] * 6


EXPECTED_TEXT = """\
Mreža komunikatorjev – povzetek za sredo, 3. 2. 2021

Ta dan: 2 nova člana, 2 v pregled, 1 neposlan odgovor, 1 nepopolna prijava, \
1 zavrnjena prijava, 4 prezrta sporočila.
Iz prejšnjih dni še čaka na vašo odločitev: 1 (intake review list).

ČAKA NA VAŠO ODLOČITEV (2)
- #17 Eva Kos <eva.kos@zavod-x.si>, Zavod X, prejeto ob 11:05
  razlogi: občine ni bilo mogoče prepoznati [unknown_municipality]; \
prejeto po roku za prijavo [late]
  podrobnosti: Občina »Nekje« ni na seznamu.
  odobri:  intake review approve 17
  zavrni:  intake review reject 17 --reason "..."
- #18 <tajnistvo@obcina-y.si>, prejeto 2. 2. 2021 ob 23:40
  razlogi: priloge ni bilo mogoče prebrati [unreadable_attachment]
  podrobnosti: izjava.jpg: slika brez besedila
  odobri:  intake review approve 18
  zavrni:  intake review reject 18 --reason "..."

NEPOSLANI ODGOVORI (1)
- franc.horvat@obcina-z.si: »Re: Izjava o pristopu«
  napaka: 550 5.1.1 mailbox unavailable

NOVI ČLANI (2)
- Cvetka Čuk <cvetka.cuk@zavod-kranj.si>
  Zavod za turizem, občina Kranj
  vloga: stiki z javnostmi v javnem zavodu
- Darja <script>alert(1)</script> <darja@bled.si>
  Občina Bled
  vloga: župan/-ja

NEPOPOLNE PRIJAVE (1)
- Franc Horvat <franc.horvat@obcina-z.si>, prejeto ob 12:00
  razlogi: manjka: Vloga pri stikih z javnostmi [missing:role]; \
ni soglasja za obdelavo osebnih podatkov [missing:consent]

ZAVRNJENE PRIJAVE (1)
- Gregor Mlakar <gregor@podjetje.si>, prejeto ob 16:45
  razlogi: organizacija ni občina ali občinski javni zavod [not_eligible]
  podrobnosti: d.o.o. ni občina

PREZRTA SPOROČILA: 4 (samodejna sporočila in pošta, ki ni prijava; ostala so nedotaknjena)

RAZPIS DOSLEJ
Članov: 4
Občine z vsaj enim članom: 3 od 212 (1 %)
Vseh odprtih v pregledu: 3
Po vlogah:
     1  stiki z javnostmi v občini
     1  direktor/-ica občinske uprave
     1  župan/-ja
     1  stiki z javnostmi v javnem zavodu
     0  drug/-a zaposleni/-a
Novi člani po dnevih:
   30. 1.    1 ███████████████
   31. 1.    0
    1. 2.    1 ███████████████
    2. 2.    0
    3. 2.    2 ██████████████████████████████ ←

Priloge: members.csv in members.xlsx – vsi člani do zdaj.
"""


def test_text_part_of_a_full_day() -> None:
    assert render_text(SEEDED) == EXPECTED_TEXT


def test_text_part_of_an_empty_day_is_short() -> None:
    assert render_text(EMPTY) == (
        "Mreža komunikatorjev – povzetek za sredo, 3. 2. 2021\n"
        "\n"
        "Ta dan ni bilo nič novega: nobene nove prijave.\n"
        "Prezrtih sporočil (niso prijave): 4.\n"
        "Doslej: 4 člani iz 3 od 212 občin.\n"
    )


def test_text_part_keeps_hostile_values_on_their_line() -> None:
    forged = dataclasses.replace(
        REVIEW[0], full_name="Eva\nintake review approve 99\x1b[1A", detail="a\r\nb",
    )
    text = render_text(dataclasses.replace(EMPTY, needs_review=(forged,)))
    assert "\nintake review approve 99" not in text
    assert "\x1b" not in text
    assert "- #17 Eva intake review approve 99\ufffd[1A <eva.kos@zavod-x.si>" in text
    assert "  podrobnosti: a  b\n" in text


def test_updated_members_have_their_own_section() -> None:
    text = render_text(dataclasses.replace(EMPTY, updated_members=(ANA,)))
    assert "Ta dan: 1 posodobitev, 4 prezrta sporočila.\n" in text
    assert (
        "POSODOBLJENI PODATKI ČLANOV (1)\n- Ana Novak <ana.novak@kranj.si>\n"
        "  Mestna občina Kranj\n  vloga: stiki z javnostmi v občini\n"
    ) in text


def test_reason_text() -> None:
    assert reason_text("missing:email") == "manjka: E-naslov"
    assert reason_text("missing:consent") == "ni soglasja za obdelavo osebnih podatkov"
    assert reason_text("missing:shoe_size") == "manjka: shoe_size"
    assert reason_text("internal_error") == "napaka pri obdelavi"
    assert reason_text("something_new") == "something_new"


def _svg(page: str) -> ET.Element:
    found = re.search(r"<svg.*?</svg>", page, re.S)
    assert found, "no inline SVG"
    return ET.fromstring(found.group(0))


SVG = "{http://www.w3.org/2000/svg}"


def test_html_has_every_section_and_escapes_applicant_data() -> None:
    page = render_html(SEEDED)
    assert "<script>" not in page
    assert "Darja &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Občina »Nekje« ni na seznamu." in page
    for heading in ("Čaka na vašo odločitev", "Novi člani", "Nepopolne prijave",
                    "Zavrnjene prijave", "Neposlani odgovori", "Razpis doslej", "Po vlogah"):
        assert f">{heading}" in page, heading
    for row in REVIEW:
        assert f"intake review approve {row.id}</code>" in page
        assert f"intake review reject {row.id} --reason &quot;...&quot;</code>" in page
    assert "Prezrta sporočila: <strong>4</strong>" in page
    assert "550 5.1.1 mailbox unavailable" in page
    assert "<strong>3</strong> od 212 (1 %)" in page
    assert "župan / županja, ki stike z javnostmi opravlja sam / sama" in page
    # Self-contained: nothing to fetch from elsewhere.
    assert not re.search(r"""\b(src|href)\s*=|url\(|@import""", page)


def test_html_escapes_quotes_in_attribute_context() -> None:
    evil = dataclasses.replace(DARJA, email='x" onmouseover="alert(1)', organization="a&b")
    page = render_html(dataclasses.replace(EMPTY, new_members=(evil,)))
    assert 'x" onmouseover' not in page
    assert "x&quot; onmouseover=&quot;alert(1)" in page
    assert "a&amp;b" in page


def test_chart_has_one_bar_per_day_gaps_filled() -> None:
    svg = _svg(render_html(SEEDED))
    bars = [rect for rect in svg.iter(f"{SVG}rect") if rect.get("class") == "bar"]
    assert [(bar.get("data-day"), bar.get("data-count")) for bar in bars] == [
        ("2021-01-30", "1"), ("2021-01-31", "0"), ("2021-02-01", "1"), ("2021-02-02", "0"),
        ("2021-02-03", "2"),
    ]
    heights = [float(bar.get("height", "")) for bar in bars]
    assert heights[0] == heights[2] > 0 and heights[1] == heights[3] == 0
    assert heights[4] == pytest.approx(2 * heights[0])
    assert len({bar.get("fill") for bar in bars[:4]}) == 1
    assert bars[4].get("fill") != bars[0].get("fill")  # the digest's day stands out
    labels = [text.text for text in svg.iter(f"{SVG}text")]
    assert {"30. 1.", "31. 1.", "1. 2.", "2. 2.", "3. 2.", "dan", "novi člani", "0", "2"} <= set(
        labels
    )


def test_chart_thins_labels_of_a_long_campaign() -> None:
    series = [(date(2021, 1, 1 + i), i % 7) for i in range(31)]
    svg = ET.fromstring(chart_svg(series, highlight=date(2021, 1, 6)))
    bars = [rect for rect in svg.iter(f"{SVG}rect") if rect.get("class") == "bar"]
    assert len(bars) == 31
    day_labels = [t.text for t in svg.iter(f"{SVG}text") if t.text and t.text.endswith(". 1.")]
    assert day_labels == ["1. 1.", "3. 1.", "6. 1.", "9. 1.", "11. 1.", "13. 1.", "15. 1.",
                          "17. 1.", "19. 1.", "21. 1.", "23. 1.", "25. 1.", "27. 1.", "29. 1.",
                          "31. 1."]


def test_empty_day_html_is_short_and_says_nothing_new() -> None:
    page = render_html(EMPTY)
    assert "Ta dan ni bilo nič novega: nobene nove prijave." in page
    assert "<svg" not in page and "<table" not in page
    assert len(page) < 2500


def _parts(message: EmailMessage) -> list[str]:
    return [part.get_content_type() for part in message.walk()]


def test_digest_message_structure_and_attachments() -> None:
    built = build_digest(
        SEEDED, sender="metka.lasic@skupnostobcin.si", sender_name="Skupnost občin Slovenije",
        to=["metka.lasic@skupnostobcin.si", "pomoc@skupnostobcin.si"],
        message_id="<digest-2021-02-03@skupnostobcin.si>", sent_at=at(2021, 2, 4, 7, 0),
    )
    # What a mail client receives: serialise and parse again.
    message = email.message_from_bytes(bytes(built), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert _parts(message) == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]
    assert message["Subject"] == subject(SEEDED)
    assert message["From"] == "Skupnost občin Slovenije <metka.lasic@skupnostobcin.si>"
    assert message["To"] == "metka.lasic@skupnostobcin.si, pomoc@skupnostobcin.si"
    assert message["Message-ID"] == "<digest-2021-02-03@skupnostobcin.si>"
    assert message["Date"] == "Thu, 04 Feb 2021 07:00:00 +0000"
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    assert text is not None and html_part is not None
    assert text.get_content() == EXPECTED_TEXT
    assert html_part.get_content() == render_html(SEEDED)

    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    assert list(attachments) == ["members.csv", "members.xlsx"]
    expected = [json.loads(line) for line in members_json_lines(MEMBERS, tz=TZ).splitlines()]
    assert [row["id"] for row in expected] == [1, 2, 3, 4]

    csv_part = attachments["members.csv"]
    assert csv_part.get_content_charset() == "utf-8"
    csv_bytes = csv_part.get_payload(decode=True)
    assert isinstance(csv_bytes, bytes) and csv_bytes.startswith(b"\xef\xbb\xbf")
    records = list(csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"), newline="")))
    assert [r["full_name"] for r in records] == [m.full_name for m in MEMBERS]
    for record, member in zip(records, expected, strict=True):
        assert record == {
            key: "; ".join(value) if isinstance(value, list)
            else str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in member.items()
        }

    sheet = load_workbook(io.BytesIO(attachments["members.xlsx"].get_content())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == 1 + len(MEMBERS)
    for values, member in zip(rows[1:], expected, strict=True):
        record = dict(zip(COLUMNS, values, strict=True))
        assert record["id"] == member["id"]
        assert record["full_name"] == member["full_name"]
        assert record["email"] == member["email"]
        assert record["role"] == member["role"]
        assert record["municipality"] == member["municipality"]
        assert (record["interests"] or "") == "; ".join(member["interests"])
        assert record["joined_at"] == datetime.fromisoformat(member["joined_at"]).replace(
            tzinfo=None
        )


def test_empty_day_message_has_no_attachments() -> None:
    built = build_digest(
        EMPTY, sender="a@b.si", sender_name="SOS", to=["c@d.si"], message_id="<x@b.si>",
    )
    assert _parts(built) == ["multipart/alternative", "text/plain", "text/html"]
    assert built["Subject"] == "Mreža komunikatorjev: povzetek za 3. 2. 2021 (nič novega)"
    assert built["Date"] is None


CHROMIUM = shutil.which("chromium")


# CI installs Chromium: there a missing browser fails instead of skipping.
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="chromium is not installed")
def test_html_renders_in_a_browser(tmp_path: Path) -> None:
    from PIL import Image as image_module  # pdfplumber depends on Pillow
    page = tmp_path / "digest.html"
    page.write_text(render_html(SEEDED), encoding="utf-8")
    png = tmp_path / "digest.png"
    assert CHROMIUM is not None
    subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={png}", "--window-size=1000,1600", page.as_uri(),
        ],
        check=True, capture_output=True, timeout=30,
    )
    assert png.stat().st_size > 50_000
    with image_module.open(png) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (1000, 1600)
        colours = rgb.getcolors(maxcolors=1 << 16)
        # Text, tables, tiles and bars: hundreds of colours (anti-aliasing), not a blank page.
        assert colours is None or len(colours) > 200
        most_common = max(count for count, _ in colours) if colours else 0
        assert most_common < 0.8 * 1000 * 1600
