"""Plans saved by hash: read back exactly as saved, the hash checked on every read, the
latest plan of a finding, and the clear errors that keep a changed or unknown plan from
ever being applied."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from handover.errors import PlanIntegrityError, StoreError
from handover.models import AccessPlan
from handover.store import tables as t
from handover.store.plans import PlanStore
from handover.usage import UsageStore
from tests.unit.test_plan import make_inputs, op, plan_of
from tests.unit.test_plan_templates import blocked_plan, mule_plan
from tests.unit.test_usage_store import PG_URL, _empty_postgres

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql", marks=pytest.mark.skipif(not PG_URL, reason="no TEST_POSTGRES_URL")
        ),
    ]
)
def plans(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PlanStore]:
    clock = iter([T0 + timedelta(minutes=i) for i in range(100)])
    url = f"sqlite:///{tmp_path / 'handover.db'}"
    if request.param == "postgresql":
        assert PG_URL
        _empty_postgres(PG_URL)
        url = PG_URL
    with PlanStore(url, clock=lambda: next(clock)) as store:
        yield store


def test_a_saved_plan_loads_exactly_as_it_was_saved(plans: PlanStore) -> None:
    plan = mule_plan()
    saved = plans.save(plan)
    assert (saved.plan_hash, saved.finding_id, saved.org_id, saved.status) == (
        plan.hash, plan.finding_id, plan.org_id, "ready",
    )  # fmt: skip
    assert saved.first_saved_at == saved.saved_at == T0
    loaded = plans.load(plan.hash)
    assert isinstance(loaded, AccessPlan)
    assert loaded == plan and loaded.model_dump_json() == plan.model_dump_json()
    # The hash as people copy it: spaces around it, upper case.
    assert plans.load(f" {plan.hash.upper()} ") == plan


def test_the_latest_plan_of_a_finding(plans: PlanStore) -> None:
    first, other = mule_plan(), blocked_plan()
    assert first.finding_id == other.finding_id and first.hash != other.hash
    assert plans.latest(first.org_id, first.finding_id) is None
    plans.save(first)
    plans.save(other)
    assert plans.latest(first.org_id, first.finding_id) == other
    # Planning again from unchanged evidence gives the same hash: one row, now the latest.
    again = plans.save(first)
    assert again.first_saved_at == T0 and again.saved_at > again.first_saved_at
    assert plans.latest(first.org_id, first.finding_id) == first
    assert [s.plan_hash for s in plans.saved(first.org_id, first.finding_id)] == [
        first.hash, other.hash,
    ]  # fmt: skip
    assert plans.latest(first.org_id, "f-000000000000") is None
    assert plans.latest("00D5g0000099999", first.finding_id) is None


def test_a_plan_changed_in_the_store_is_refused(plans: PlanStore) -> None:
    plan = mule_plan()
    plans.save(plan)
    # Someone widens the saved plan in the database: Read on Account becomes Modify All.
    body = plan.model_dump_json().replace('"modify_all":false', '"modify_all":true', 1)
    assert body != plan.model_dump_json()
    with plans.engine.begin() as conn:
        conn.execute(update(t.plans).values(body=body))
    with pytest.raises(PlanIntegrityError, match=r"does not match its hash.*Do not apply it"):
        plans.load(plan.hash)
    with pytest.raises(PlanIntegrityError):
        plans.latest(plan.org_id, plan.finding_id)
    with plans.engine.begin() as conn:
        conn.execute(update(t.plans).values(body='{"status": "ready"}'))
    with pytest.raises(PlanIntegrityError, match="no longer a valid plan"):
        plans.load(plan.hash)


def test_a_plan_whose_hash_is_not_its_content_is_not_saved(plans: PlanStore) -> None:
    plan = mule_plan()
    tampered = plan.model_copy(update={"status": "ready", "notes": [*plan.notes, "extra"]})
    with pytest.raises(PlanIntegrityError, match="make the plan again"):
        plans.save(tampered)
    assert plans.latest(plan.org_id, plan.finding_id) is None


def test_unknown_and_malformed_hashes_say_what_to_do(plans: PlanStore) -> None:
    with pytest.raises(StoreError, match=r"no saved plan .* make it first"):
        plans.load("0" * 64)
    with pytest.raises(StoreError, match="full 64-character hash"):
        plans.load("abc123")


def test_plans_share_the_store_with_usage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'handover.db'}"
    plan = plan_of(make_inputs([op("Account", "query")]))
    with UsageStore(url) as usage, PlanStore(url) as plans:
        assert usage.schema_revision == plans.schema_revision
        plans.save(plan)
    with PlanStore(url) as reopened:
        assert reopened.load(plan.hash) == plan
