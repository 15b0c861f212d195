"""The coordinator's day after the mail has been processed: what she decides, erases, exports
and reads in the digest, found by walking the workflow on a database the real cycle filled.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from intake.embedded import MailSink
from intake.export import MemberRow, members_csv, members_json_lines
from tests.harness import intake, submissions
from tests.servers import ImapAccount
from tests.test_coordinator import SAMPLES, seed_database, traces, write_config

ZONE = ZoneInfo("Europe/Ljubljana")
ROK = "rok.petek@maribor.si"
URBAN = "urban.zajc@zavod-cerkno.si"


@pytest.fixture
def team_database(tmp_path: Path, pymap_account: ImapAccount, mail_sink: MailSink,
                  database_url: str) -> Iterator[tuple[Path, str]]:
    """Eva Breznik's message with the declarations of three Maribor colleagues, and Urban
    Zajc's, which waits for review."""
    seed_database(database_url, pymap_account, mail_sink, [
        (datetime(2021, 2, 9, 11, 0, tzinfo=ZONE),
         [SAMPLES["three-declarations"], SAMPLES["review-role-mismatch"]], False),
    ])
    yield write_config(tmp_path, mail_sink, database_url), database_url


def by_email(config: Path) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for row in submissions(config):
        fields = row["fields"]
        assert isinstance(fields, dict)
        if fields:
            found[str(fields.get("email", ""))] = row
    return found


def test_erasing_one_colleague_keeps_the_others_declarations(
    team_database: tuple[Path, str],
) -> None:
    """GIVEN one message carrying the declarations of Eva, Rok and Sara, all members
    WHEN Rok asks to be erased
    THEN nothing holds his address or name, and Eva's and Sara's declarations keep their
    fields and their link to their membership (their consent is on record)."""
    config, url = team_database
    before = by_email(config)
    assert {"eva.breznik@maribor.si", ROK, "sara.vidmar@maribor.si"} <= set(before)

    intake(config, "members", "remove", ROK)

    assert traces(url, (ROK, "rok petek")) == {}
    after = by_email(config)
    assert ROK not in after
    for colleague in ("eva.breznik@maribor.si", "sara.vidmar@maribor.si"):
        assert after[colleague]["fields"] == before[colleague]["fields"]
        assert after[colleague]["member_id"] == before[colleague]["member_id"] is not None
        assert after[colleague]["status"] == "accepted"
    members = [json.loads(line)["email"] for line in
               intake(config, "members", "--format", "json").stdout.splitlines()]
    assert sorted(members) == ["eva.breznik@maribor.si", "sara.vidmar@maribor.si"]


def test_erasure_removes_the_coordinators_reason_too(team_database: tuple[Path, str]) -> None:
    """GIVEN Urban Zajc's declaration rejected by the coordinator with a reason naming him
    WHEN he asks to be erased
    THEN the reason she wrote is gone with the rest; the status stays for the statistics."""
    config, url = team_database
    declaration_id = by_email(config)[URBAN]["id"]
    intake(config, "review", "reject", str(declaration_id),
           "--reason", "Gospod Zajc, direktor zavoda ni komunikator občine.")
    assert "declarations.review_note" in traces(url, ("zajc",))

    intake(config, "members", "remove", URBAN)

    assert traces(url, ("zajc", "cerkno")) == {}
    statuses = {row["id"]: row["status"] for row in submissions(config)}
    assert statuses[declaration_id] == "rejected"


# --- the member list --------------------------------------------------------------------------


def test_member_list_times_are_whole_seconds() -> None:
    """The stored times carry microseconds; the coordinator's CSV and JSON show seconds."""
    moment = datetime(2021, 2, 3, 14, 30, 5, 583080, tzinfo=UTC)
    row = MemberRow(id=1, email="ziga.cuk@celje.si", full_name="Žiga Čuk",
                    joined_at=moment, updated_at=moment)
    record = next(csv.DictReader(io.StringIO(members_csv([row], tz=ZONE).decode("utf-8-sig"))))
    assert record["joined_at"] == "2021-02-03T15:30:05+01:00"
    assert record["full_name"] == "Žiga Čuk"
    assert json.loads(members_json_lines([row], tz=ZONE))["updated_at"] == (
        "2021-02-03T15:30:05+01:00")

