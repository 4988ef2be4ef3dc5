"""The migration's gates: the message in the migration's Slack thread, then waiting for a
decision only the approval service can make.

A run from a deployment first holds its process for ``HANDOVER_APPROVALS__HOLD_SECONDS``,
reading the gate book: a decision made meanwhile (an approver at hand, the demo, the
benchmark) is taken from the book at once, which saves the seconds a suspended run needs
to start again. Then it waits with ``suspend_flow_run``: its process exits, no worker is
held, and when the approval service resumes it the flow runs again from the top (the
ledger makes every step before the gate a no-op) and the same key hands back the input.
A run called directly (tests, a script) cannot suspend, so it pauses, holding its process,
for a little longer than the gate's TTL (the approval service's reaper expires the gate
first, so the run ends cleanly as "expired", never as a timed-out pause).

Every input is checked with its approval token. One that fails (a Resume from the Prefect
UI or API) is logged, noted in the thread, and the gate waits again under the next key;
the attempt is remembered, so a re-run of the flow does not read the rejected input again.
A decision that passed is remembered too: a later re-run goes straight past the gate.

The audit's gate waits the same way (``wait_at_gate`` over any ``GateSubject``: a
migration run, or an audit proposal with its ``a-`` id).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from prefect import get_run_logger, pause_flow_run, suspend_flow_run, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import deployment

from handover import ids
from handover.errors import MigrationError
from handover.settings import Settings
from handover.slack.gatebook import GateBook, GateMessage, GateRecord
from handover.slack.gates import note_ignored_resume, open_gate
from handover.slack.gateway import SlackGateway
from handover.slack.tokens import GateInput, decided_at_text, verify_input
from handover.store.ledger import Ledger
from tasks.context import MigrationRun


class GateSubject(Protocol):
    """What waits at a gate: a migration run, or an audit proposal (its ledger id)."""

    @property
    def migration_id(self) -> str: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def book(self) -> GateBook: ...
    @property
    def slack(self) -> SlackGateway: ...
    @property
    def token_key(self) -> bytes: ...
    def facts(self) -> dict[str, Any]: ...
    def remember(self, **facts: Any) -> Any: ...


# A paused run outlives its gate's TTL by this much: the reaper's "expired" must reach it
# before Prefect's own pause timeout, which would fail the run.
PAUSE_MARGIN_SECONDS = 900


def from_deployment() -> bool:
    return deployment.id is not None


def poll_interval(run: GateSubject) -> int:
    # Prefect types it as whole seconds but sleeps for any number of them: tests and the
    # demo wait a fraction of a second per check.
    return cast(int, run.settings.approvals.poll_seconds)


def human_email(run: MigrationRun) -> str:
    """The human's email (self-approval is refused by it), read once and remembered."""
    known = run.facts().get("human_email")
    if known:
        return str(known)
    user_id = run.plan.human.user_id
    if not ids.is_valid_id(user_id):
        raise MigrationError(f"the plan names {user_id!r} as the human: not a user id; plan again")
    rows = run.gateway.query_all(
        f"SELECT Email FROM User WHERE Id = '{ids.to18(user_id)}'",
        what="reading the human's email",
    )
    email = str((rows[0].get("Email") if rows else "") or "")
    run.remember(human_email=email)
    return email


def gate_message(run: MigrationRun, changes: list[str]) -> GateMessage:
    w = run.plan.evidence_window
    return GateMessage(
        app_name=run.plan.app_name,
        human=run.plan.human.username,
        headline=run.plan.headline,
        changes=changes,
        new_user=run.plan.user.username,
        evidence_window=f"{w.start} … {w.end}, {w.days_observed} days observed",
        run_url=run.run_url,
    )


@task(name="open-gate", cache_policy=NO_CACHE, persist_result=False)
def open_gate_message(run: MigrationRun, gate: str, changes: list[str]) -> GateRecord:
    """The gate's message in the migration's thread (posted once: a re-run finds it), bound
    to this flow run."""
    record = open_gate(
        run.book,
        run.slack,
        run.settings.approvals,
        migration_id=run.migration_id,
        gate=gate,
        flow_run_id=run.flow_run_id or "",
        plan_hash=run.plan.hash,
        channel=run.channel,
        human_email=human_email(run),
        message=gate_message(run, changes),
        now=datetime.now(UTC),
    )
    if run.flow_run_id and record.flow_run_id != run.flow_run_id:
        rebound = run.book.rebind(run.migration_id, gate, run.flow_run_id)
        record = rebound or record
    return record


def _wait(run: GateSubject, key: str) -> GateInput:
    if from_deployment():
        answer = suspend_flow_run(wait_for_input=GateInput, key=key, timeout=None)
    else:
        ttl = int(run.settings.approvals.gate_ttl_hours * 3600)
        answer = pause_flow_run(
            wait_for_input=GateInput,
            key=key,
            timeout=ttl + PAUSE_MARGIN_SECONDS,
            poll_interval=poll_interval(run),
        )
    return cast(GateInput, answer)


def held_decision(run: GateSubject, gate: str) -> GateInput | None:
    """The gate's decision if the approval service records one within the hold, taken from
    the gate book (the service cannot resume a run that is not suspended). It needs no
    token: only the service writes decisions to the book, after its own checks; the token
    guards the other way in, Prefect's resume, which anyone with API access can call."""
    deadline = time.monotonic() + run.settings.approvals.hold_seconds
    interval = min(run.settings.approvals.poll_seconds, 1.0)
    while True:
        # A read each second, the write (one conditional UPDATE) only once it is decided:
        # twenty runs at their gates must not queue on the store's write lock.
        record = run.book.get(run.migration_id, gate)
        decided = record is not None and record.outcome is not None
        outcome = run.book.claim_delivery(run.migration_id, gate) if decided else None
        if outcome is not None:
            return GateInput(
                decision=outcome.decision,
                approvers=list(outcome.approvers),
                reason=outcome.reason,
                decided_at=decided_at_text(outcome.decided_at),
                token="",
            )
        if time.monotonic() + interval > deadline:
            return None
        time.sleep(interval)


def ask(run: MigrationRun, gate: str, changes: list[str]) -> GateInput:
    """Wait at ``gate`` for the approval service's decision (approve, reject, expired)."""
    return wait_at_gate(run, gate, run.plan.hash, lambda: open_gate_message(run, gate, changes))


def wait_at_gate(
    run: GateSubject, gate: str, plan_hash: str, open_message: Callable[[], GateRecord]
) -> GateInput:
    """The gate's decision: remembered, taken from the book during the hold, or brought by
    a resume whose token binds it to ``plan_hash`` (any other resume is noted in the
    thread, and the gate waits again under the next attempt key)."""
    logger = get_run_logger()
    decided = run.facts().get("decisions", {}).get(gate)
    if decided:
        return GateInput(**decided, token="")  # verified when it came in
    record = open_message()
    run.ledger.waiting(run.migration_id, gate, record.opened_at)
    attempt = int(run.facts().get("attempts", {}).get(gate, 1))
    if from_deployment() and run.settings.approvals.hold_seconds > 0:
        logger.info("waiting at the %s gate", gate)
        held = held_decision(run, gate)
        if held is not None:
            _remember_decision(run, gate, held)
            return held
    logger.info("waiting at the %s gate (%s)", gate, "suspended" if from_deployment() else "paused")
    while True:
        answer = _wait(run, f"{gate}-{attempt}")
        ok, why = verify_input(
            run.token_key,
            answer,
            migration_id=run.migration_id,
            gate=gate,
            plan_hash=plan_hash,
        )
        if ok:
            _remember_decision(run, gate, answer)
            return answer
        logger.warning("ignored a resume of the %s gate without a valid approval: %s", gate, why)
        current = run.book.get(run.migration_id, gate) or record
        note_ignored_resume(run.book, run.slack, run.settings.approvals, current, why)
        attempt += 1
        run.remember(attempts={**run.facts().get("attempts", {}), gate: attempt})


def _remember_decision(run: GateSubject, gate: str, answer: GateInput) -> None:
    who = ", ".join(answer.approvers) or "the approval service"
    get_run_logger().info("%s gate: %s by %s", gate, answer.decision, who)
    decision: dict[str, Any] = {
        "decision": answer.decision,
        "approvers": list(answer.approvers),
        "reason": answer.reason,
        "decided_at": answer.decided_at,
    }
    run.remember(decisions={**run.facts().get("decisions", {}), gate: decision})
    run.ledger.at_step(run.migration_id, gate)
