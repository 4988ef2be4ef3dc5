"""The reaper wakes a migration whose verification window ended; a wake Prefect could not
take (busy, down) is kept for the next pass, never dropped: a deployment run waits for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handover.errors import TransientPrefectError
from handover.slack.gatebook import MemoryGateBook, Wake
from handover.slack.reaper import Reaper
from handover.slack.runs import ResumeResult
from tests.unit.test_desk_delivery import Runs

NOW = datetime(2026, 11, 2, 14, 5, tzinfo=UTC)
RUN = "00000000-0000-4000-8000-0000000000aa"


def test_a_wake_prefect_could_not_take_is_tried_again_next_pass() -> None:
    book = MemoryGateBook()
    book.set_wake(Wake(migration_id="m-0123456789ab", flow_run_id=RUN, wake_at=NOW))
    busy = TransientPrefectError("resuming flow run: Prefect answered HTTP 503", status=503)
    runs = Runs(busy, ResumeResult("ACCEPT", None))
    reaper = Reaper(None, book, runs, lambda: NOW + timedelta(minutes=1))  # type: ignore[arg-type]
    assert reaper.tick()["woken"] == 0
    assert [w.migration_id for w in book.due_wakes(NOW)] == ["m-0123456789ab"]  # kept
    assert reaper.tick()["woken"] == 1
    assert book.due_wakes(NOW + timedelta(days=1)) == [] and runs.answers == []
