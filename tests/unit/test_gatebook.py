"""The GateBook contract, for the in-memory book and the SQL one (SQLite; PostgreSQL too
when TEST_POSTGRES_URL names a throw-away database): a gate is opened once, a person votes
once, the first decision stands, a wake-up is taken once, also between processes."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect as create_engine_inspector

from handover.slack.gatebook import (
    GateBook,
    GateDecision,
    GateMessage,
    GateRecord,
    MemoryGateBook,
    Vote,
    Wake,
)
from handover.store import tables as t
from handover.store.engine import migrate, open_engine
from handover.store.gates import SqlGateBook

NOW = datetime(2026, 11, 2, 14, 5, tzinfo=UTC)
PG_URL = os.environ.get("TEST_POSTGRES_URL")


def gate(migration_id: str = "m-000000000001", name: str = "cutover", **more: object) -> GateRecord:
    fields: dict[str, object] = {
        "migration_id": migration_id,
        "gate": name,
        "flow_run_id": "7061181e-0000-4000-8000-000000000001",
        "plan_hash": "ab" * 32,
        "channel": "C0HANDOVER",
        "ts": "1793631900.000100",
        "opened_at": NOW,
        "expires_at": NOW + timedelta(hours=24),
        "human_email": "dana.reyes@loomis-logistics.com",
        "message": GateMessage(app_name="Sync", human="dana", headline="+1 user"),
    }
    return GateRecord.model_validate(fields | more)


def decision(kind: str = "approve", who: str = "U0LOOMIS01", at: datetime = NOW) -> GateDecision:
    return GateDecision(decision=kind, approvers=[who], decided_at=at)  # type: ignore[arg-type]


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        pytest.param(
            "postgresql", marks=pytest.mark.skipif(not PG_URL, reason="no TEST_POSTGRES_URL")
        ),
    ]
)
def book(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GateBook]:
    if request.param == "memory":
        yield MemoryGateBook()
        return
    url = PG_URL if request.param == "postgresql" else f"sqlite:///{tmp_path}/handover.db"
    assert url
    engine = open_engine(url)
    if request.param == "postgresql":
        with engine.begin() as conn:
            t.metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS usage_schema_version")
    migrate(engine)
    yield SqlGateBook(engine)
    engine.dispose()


def test_a_gate_is_opened_once_and_read_back_whole(book: GateBook) -> None:
    first = book.add_gate(gate())
    again = book.add_gate(gate(ts="9999999999.000001", flow_run_id="another"))
    assert again == first == book.get("m-000000000001", "cutover")
    assert first.message.headline == "+1 user" and first.expires_at == NOW + timedelta(hours=24)
    assert book.get("m-000000000001", "plan") is None


def test_the_first_gate_opens_the_thread(book: GateBook) -> None:
    assert book.thread_of("m-000000000001") is None
    book.add_gate(gate(name="plan", ts="100.000001"))
    book.add_gate(gate(name="cutover", ts="200.000001", thread_ts="100.000001",
                       opened_at=NOW + timedelta(days=1)))  # fmt: skip
    assert book.thread_of("m-000000000001") == ("C0HANDOVER", "100.000001")


def test_one_vote_per_person(book: GateBook) -> None:
    book.add_gate(gate(name="decommission", required_approvals=2))
    assert book.add_vote("m-000000000001", "decommission", Vote(user_id="U1", at=NOW))
    assert not book.add_vote("m-000000000001", "decommission", Vote(user_id="U1", at=NOW))
    assert book.add_vote(
        "m-000000000001", "decommission", Vote(user_id="U2", at=NOW + timedelta(seconds=1))
    )
    assert [v.user_id for v in book.votes("m-000000000001", "decommission")] == ["U1", "U2"]


def test_the_first_decision_stands(book: GateBook) -> None:
    book.add_gate(gate())
    first = decision("approve", "U1")
    assert book.decide("m-000000000001", "cutover", first) == first
    late = decision("reject", "U2", NOW + timedelta(minutes=1))
    assert book.decide("m-000000000001", "cutover", late) == first
    record = book.get("m-000000000001", "cutover")
    assert record is not None and record.outcome == first and record.decided


def test_expiry_delivery_and_notes(book: GateBook) -> None:
    book.add_gate(gate())
    book.add_gate(gate(name="plan", expires_at=NOW + timedelta(hours=1)))
    assert [g.gate for g in book.open_past(NOW + timedelta(hours=2))] == ["plan"]
    assert book.undelivered() == []
    book.decide("m-000000000001", "plan", decision("expired", "U1"))
    assert book.open_past(NOW + timedelta(hours=30))[0].gate == "cutover"
    assert [g.gate for g in book.undelivered()] == ["plan"]
    book.record_delivery("m-000000000001", "plan", "run_ended", "COMPLETED")
    assert book.undelivered() == []
    book.add_note("m-000000000001", "plan", "one")
    book.add_note("m-000000000001", "plan", "two")
    record = book.get("m-000000000001", "plan")
    assert record is not None and record.notes == ["one", "two"]
    assert (record.delivery, record.delivery_detail) == ("run_ended", "COMPLETED")


def test_a_wake_up_is_taken_once(book: GateBook) -> None:
    wake = Wake(migration_id="m-1", flow_run_id="r-1", wake_at=NOW)
    book.set_wake(wake)
    assert book.due_wakes(NOW - timedelta(seconds=1)) == []
    assert book.due_wakes(NOW) == [wake]
    later = wake.model_copy(update={"wake_at": NOW + timedelta(hours=1)})
    book.set_wake(later)  # the flow moved it: the old one is no longer claimable
    assert not book.claim_wake(wake)
    assert book.claim_wake(later) and not book.claim_wake(later)
    assert book.due_wakes(NOW + timedelta(days=1)) == []


def _decide_in_a_process(url: str, who: str, start: Any, results: Any) -> None:
    engine = open_engine(url)  # its own connection, as another process has
    start.wait()
    standing = SqlGateBook(engine).decide("m-000000000001", "cutover", decision("approve", who))
    results.put(standing.approvers[0])
    engine.dispose()


def test_two_processes_deciding_at_once_agree_on_one_winner(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/handover.db"
    engine = open_engine(url)
    migrate(engine)
    SqlGateBook(engine).add_gate(gate())
    ctx = multiprocessing.get_context("fork")  # a copy of this process: no re-import
    start, results = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_decide_in_a_process, args=(url, who, start, results))
        for who in ("U1", "U2")
    ]
    for proc in procs:
        proc.start()
    start.set()
    winners = {results.get(timeout=60) for _ in procs}
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    assert len(winners) == 1  # both processes were told the same decision stands
    record = SqlGateBook(engine).get("m-000000000001", "cutover")
    assert record is not None and record.outcome is not None
    assert record.outcome.approvers == [winners.pop()]
    engine.dispose()


def test_the_gate_book_is_part_of_the_store() -> None:
    engine = open_engine("sqlite://")
    migrate(engine)
    names = set(create_engine_inspector(engine).get_table_names())
    assert {"gates", "gate_votes", "gate_notes", "gate_wakes"} <= names
    assert {"gates", "gate_votes", "gate_notes", "gate_wakes"} <= set(t.metadata.tables)


def test_a_new_run_takes_over_a_gate_and_an_undelivered_decision(book: GateBook) -> None:
    book.add_gate(gate())
    assert book.rebind("m-000000000001", "cutover", "run-2").flow_run_id == "run-2"  # type: ignore[union-attr]
    book.decide("m-000000000001", "cutover", decision())
    # The decision reached no run (the one waiting had crashed): a new run takes it back.
    book.record_delivery("m-000000000001", "cutover", "run_ended", "CRASHED")
    assert book.undelivered() == []
    rebound = book.rebind("m-000000000001", "cutover", "run-3")
    assert rebound is not None and (rebound.flow_run_id, rebound.delivery) == ("run-3", None)
    assert [g.gate for g in book.undelivered()] == ["cutover"]
    # A decision the run took stays taken.
    book.record_delivery("m-000000000001", "cutover", "accepted")
    assert book.rebind("m-000000000001", "cutover", "run-4").delivery == "accepted"  # type: ignore[union-attr]
    assert book.rebind("m-000000000001", "plan", "run-4") is None


def test_a_holding_run_takes_its_decision_unless_the_service_delivered_it(book: GateBook) -> None:
    book.add_gate(gate())
    assert book.claim_delivery("m-000000000001", "cutover") is None  # undecided: nothing
    book.decide("m-000000000001", "cutover", decision())
    taken = book.claim_delivery("m-000000000001", "cutover")
    assert taken is not None and taken.approvers == ["U0LOOMIS01"]
    assert book.undelivered() == []  # the reaper will not resume the run with it too
    # A run that crashed after taking it takes it again when it runs again.
    assert book.claim_delivery("m-000000000001", "cutover") == taken

    book.add_gate(gate(name="plan"))
    book.decide("m-000000000001", "plan", decision())
    book.record_delivery("m-000000000001", "plan", "accepted")  # the service resumed the run
    assert book.claim_delivery("m-000000000001", "plan") is None
