"""A store written by an earlier release opens with this one: upgraded in place, every
row kept, and every read answering as it did before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from handover.store import tables as t
from handover.store.engine import MIGRATIONS, VERSION_TABLE
from handover.store.plans import PlanStore
from handover.usage import UsageStore
from tests.fixtures.stores.freeze_store import reads
from tests.unit.test_plan_templates import mule_plan

STORES = Path(__file__).resolve().parents[1] / "fixtures" / "stores"
HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


def with_fields_added_since(expected: dict[str, Any]) -> dict[str, Any]:
    """The frozen reads, with what later releases add to them: an evidence row's ``basis``
    ("none": a finding saved before it existed is not re-weighed), the coverage's
    ``history_began`` (that store's first logs are of the window's first day), and the
    logs a field's query texts came from."""
    out = json.loads(json.dumps(expected))
    for row in out["reads"]["finding"]["evidence"]:
        row.setdefault("basis", "none")
    coverage = out["reads"]["coverage"]
    coverage.setdefault("history_began", coverage["window_start"])
    for row in out["reads"]["fields"]:
        row.setdefault("sources", ["API"])  # that store's query texts came from the API file
    return out


def test_a_store_of_revision_0002_upgrades_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "handover.db"
    shutil.copyfile(STORES / "store-0002.db", db)  # never migrate the fixture itself
    expected = with_fields_added_since(
        json.loads((STORES / "store-0002.expected.json").read_text())
    )
    assert expected["revision"] == "0002"

    with UsageStore(f"sqlite:///{db}") as store:
        assert store.schema_revision == HEAD != "0002"
        with store.engine.connect() as conn:
            for table, rows in expected["rows"].items():
                count = conn.execute(text(f'SELECT COUNT(*) FROM "{table}"')).scalar()
                assert count == rows, table
            assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all() == [(HEAD,)]
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
            )
            assert compare_metadata(ctx, t.metadata) == []
        assert reads(store) == expected["reads"]

    # Opening it again changes nothing: the upgrade ran once. And plans, which that
    # release did not have, are saved beside its rows.
    plan = mule_plan()
    with UsageStore(f"sqlite:///{db}") as again, PlanStore(f"sqlite:///{db}") as plans:
        assert again.schema_revision == plans.schema_revision == HEAD
        assert reads(again) == expected["reads"]
        plans.save(plan)
        assert plans.load(plan.hash) == plan
