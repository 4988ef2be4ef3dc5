"""Where a finding stands (new, planned, migrating, migrated, dismissed), short ids, and
dismissals: the store room `handover findings` and `handover dismiss` read, and the two
commands themselves (on a SQLite store, no org, no Prefect)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from handover.cli.app import app, settings_error
from handover.errors import ConfigError
from handover.lifecycle import finding_state
from handover.models import Evidence, Finding
from handover.models.migration import MigrationStatus
from handover.store.finding_book import FindingBook
from handover.store.ledger import Ledger, Opening
from handover.usage import UsageStore

ORG = "00D000000000001AAA"
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def finding(fid: str, user: str = "005000000000001AAA", app_name: str = "NetSuite") -> Finding:
    return Finding(
        finding_id=fid, org_id=ORG, user_id=user, username=f"{fid}@loomis.test",
        app_name=app_name, app_key=f"app:{fid}", verdict="integration_under_human", score=0.9,
        evidence=[Evidence(key="calls", label="Calls", value=24, weight=0.2)],
        window_start=date(2026, 11, 1), window_end=date(2026, 11, 1),
    )  # fmt: skip


def migration(**kw: Any) -> MigrationStatus:
    fields = {
        "migration_id": "m-000000000001", "finding_id": "f-aaaa00000001", "org_id": ORG,
        "app_name": "NetSuite", "human_username": "dana", "plan_hash": "ab" * 32,
        "created_at": T0, "updated_at": T0,
    }  # fmt: skip
    return MigrationStatus(**(fields | kw))


@pytest.mark.parametrize(
    ("planned", "migrations", "dismissed", "state"),
    [
        (False, [], False, "new"),
        (True, [], False, "planned"),
        (True, [migration()], False, "migrating"),
        (True, [migration(outcome="rolled_back")], False, "planned"),
        (True, [migration(outcome="successful")], False, "migrated"),
        (True, [migration(outcome="successful")], True, "migrated"),  # done is done
        (True, [migration()], True, "dismissed"),
        (False, [migration(dry_run=True)], False, "new"),  # a dry run changes nothing
    ],
)
def test_finding_state(planned: bool, migrations: list, dismissed: bool, state: str) -> None:
    assert finding_state(planned=planned, migrations=migrations, dismissed=dismissed) == state


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/handover.db"
    with UsageStore(url) as store:
        store.save_findings(ORG, "run-1", [finding("f-aaaa00000001"), finding("f-aaab00000002")])
        store.save_findings(
            ORG,
            "run-2",
            [finding("f-aaaa00000001"), finding("f-bbbb00000003", "005000000000002AAA", "Tableau")],
        )
    return url


def test_short_ids_resolve_in_the_latest_run_only(url: str) -> None:
    with FindingBook(url) as book:
        assert book.resolve("f-aaaa00000001").finding_id == "f-aaaa00000001"
        assert book.resolve("aaaa").finding_id == "f-aaaa00000001"  # f-aaab is of run-1 only
        assert book.resolve("F-BBBB").app_name == "Tableau"
        with pytest.raises(ConfigError, match="no finding 'f-aaab00000002'"):
            book.resolve("f-aaab00000002")
        with pytest.raises(ConfigError, match="several findings"):
            book.resolve("f-")


def test_a_dismissal_holds_with_its_reason_and_can_be_taken_back(url: str) -> None:
    with FindingBook(url) as book:
        f = book.resolve("bbbb")
        with pytest.raises(ConfigError, match="--reason"):
            book.dismiss(f, "  ", by="sam")
        assert book.dismissed() == {}
        book.dismiss(f, "Tableau is retired next month", by="sam")
        got = book.dismissed(ORG)["f-bbbb00000003"]
        assert (got.reason, got.dismissed_by) == ("Tableau is retired next month", "sam")
        assert book.undismiss(f) and not book.undismiss(f)
        assert book.dismissed() == {}


def test_findings_and_dismiss_commands(url: str) -> None:
    runner = CliRunner()
    env = {"HANDOVER_STORE__URL": url}
    with Ledger(url) as ledger:
        ledger.open(
            Opening(
                migration_id="m-000000000009",
                finding_id="f-aaaa00000001",
                org_id=ORG,
                app_key="app:f-aaaa00000001",
                app_name="NetSuite",
                human_user_id="005000000000001AAA",
                human_username="dana",
                plan_hash="cd" * 32,
            )
        )
    done = runner.invoke(app, ["dismiss", "bbbb", "--reason", "retired"], env=env)
    assert done.exit_code == 0, done.output
    assert "f-bbbb00000003 dismissed" in done.output
    listed = runner.invoke(app, ["findings", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    rows = {r["finding_id"]: r for r in json.loads(listed.stdout)}
    assert rows["f-aaaa00000001"]["state"] == "migrating"
    assert rows["f-aaaa00000001"]["migration_id"] == "m-000000000009"
    assert rows["f-bbbb00000003"]["state"] == "dismissed"
    assert rows["f-bbbb00000003"]["dismissed"]["reason"] == "retired"
    table = runner.invoke(app, ["findings"], env=env, terminal_width=80)
    assert "f-aaaa00000001" in table.stdout and "f-bbbb00000003" in table.stdout  # never cut
    assert max(len(line) for line in table.stdout.splitlines()) <= 80
    refused = runner.invoke(app, ["dismiss", "nope", "--reason", "x"], env=env)
    assert refused.exit_code == 2 and "no finding 'nope'" in refused.output


def test_a_bad_setting_is_one_line_naming_its_variable() -> None:
    from pydantic import ValidationError

    from handover.settings import Settings

    with pytest.raises(ValidationError) as caught:
        Settings(approvals={"approvers": "U1,["})  # type: ignore[arg-type]
    line = settings_error(caught.value)
    assert line.startswith("HANDOVER_APPROVALS__APPROVERS: ") and "\n" not in line
