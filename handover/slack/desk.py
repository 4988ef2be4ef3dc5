"""What the approval service does with a verified click: small idempotent handlers, one per
``action_id``, over the gate book, Slack and Prefect (all injected).

A handler decides synchronously (the book's conditional writes make the decision safe
across processes) and returns follow-ups, run after Slack has its acknowledgement: the
reason dialog, replies, the message update, resuming the flow run. ``deliver`` resumes a
decided gate's run with the signed input and is safe to call again (the reaper does, for
decisions that did not get through).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handover.errors import HandoverError, PrefectApiError, TransientPrefectError
from handover.migration.steps import may_extend
from handover.settings import ApprovalsSettings
from handover.slack import tokens
from handover.slack.tokens import Decision

from .gatebook import GateBook, GateDecision, GateRecord, Vote
from .gates import refresh_gate, render_recorded, render_refusal, render_reject_dialog
from .gateway import SlackGateway
from .revoke_now import Revoker, render_revoked
from .rules import (
    Approved,
    Clicker,
    Refusal,
    judge_approval,
    judge_rejection,
    may_reject,
    may_revoke,
)
from .runs import TERMINAL_STATES, PrefectRuns, ResumeResult

log = logging.getLogger("handover.approvals")
FollowUp = Callable[[], None]
GROUP_CACHE_SECONDS = 60.0  # usergroups.users.list is rate-tier 2; membership rarely changes
RESUME_RETRIES = (0.25, 0.75, 2.0)  # seconds between tries of a resume Prefect answered 503


@dataclass(frozen=True)
class Click:
    user_id: str
    migration_id: str
    gate: str
    channel: str
    trigger_id: str | None = None


@dataclass(frozen=True)
class RevokeClick:
    """A click on "Revoke now" (no gate: the migration names the app)."""

    user_id: str
    migration_id: str
    channel: str
    thread_ts: str | None


@dataclass(frozen=True)
class ReasonSubmitted:
    user_id: str
    migration_id: str
    gate: str
    reason: str


class ApprovalDesk:
    def __init__(
        self,
        book: GateBook,
        slack: SlackGateway,
        runs: PrefectRuns,
        settings: ApprovalsSettings,
        *,
        token_key: bytes,
        clock: Callable[[], datetime],
        revoker: Revoker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.book, self.slack, self.runs, self.settings = book, slack, runs, settings
        self.token_key = token_key
        self.clock = clock
        self.revoker = revoker
        self.sleep = sleep  # between tries of a transient resume (tests pass their own)
        self._group: tuple[float, frozenset[str]] | None = None

    # -- who clicked ------------------------------------------------------------------------

    def _allowed(self, user_id: str) -> bool:
        if user_id in self.settings.approvers:
            return True
        group = self.settings.approver_group
        if not group:
            return False
        if self._group is None or time.monotonic() - self._group[0] > GROUP_CACHE_SECONDS:
            self._group = (time.monotonic(), frozenset(self.slack.group_members(group)))
        return user_id in self._group[1]

    def clicker(self, user_id: str) -> Clicker:
        found = self.slack.user(user_id)
        return Clicker(
            id=found.id,
            email=found.email,
            deleted=found.deleted,
            is_bot=found.is_bot,
            allowed=self._allowed(user_id),
        )

    # -- handlers ---------------------------------------------------------------------------

    def on_extend(self, click: Click) -> list[FollowUp]:
        """Extend an inconclusive verification's window: decided by one approver, with the
        same checks as an approval (allowlist, not the human, not expired)."""
        record = self.book.get(click.migration_id, click.gate)
        if record is not None and not may_extend(record.gate):
            return self._refuse(Refusal("not_offered"), click, record)
        return self.on_approve(click, decision="extend")

    def on_approve(self, click: Click, decision: Decision = "approve") -> list[FollowUp]:
        now = self.clock()
        record = self.book.get(click.migration_id, click.gate)
        votes = self.book.votes(click.migration_id, click.gate)
        verdict = judge_approval(record, votes, self.clicker(click.user_id), now)
        if isinstance(verdict, Refusal):
            return self._refuse(verdict, click, record)
        assert record is not None  # judge_approval refuses an unknown gate
        if not self.book.add_vote(
            record.migration_id, record.gate, Vote(user_id=click.user_id, at=now)
        ):
            return self._refuse(Refusal("already_voted"), click, record)
        # Read the votes again: another approver may have voted since (two clicks at once).
        approvers = [v.user_id for v in self.book.votes(record.migration_id, record.gate)]
        if not isinstance(verdict, Approved) and len(approvers) < record.required_approvals:
            needed = record.required_approvals - len(approvers)
            log.info("gate %s/%s: approval %d of %d by %s", record.migration_id, record.gate,
                     len(approvers), record.required_approvals, click.user_id)  # fmt: skip
            reply = render_recorded(clicker=click.user_id, record=record, needed=needed)
            return [
                lambda: self._reply(record, click.user_id, reply),
                lambda: self._refresh(record),
            ]
        decided = GateDecision(decision=decision, approvers=approvers, decided_at=now)
        standing = self.book.decide(record.migration_id, record.gate, decided)
        if standing != decided and click.user_id not in standing.approvers:
            refusal = Refusal("already_decided", by=standing.approvers, at=standing.decided_at)
            return self._refuse(refusal, click, record)
        log.info(
            "gate %s/%s: %s by %s",
            record.migration_id,
            record.gate,
            decision,
            ", ".join(approvers),
        )
        return [
            lambda: self._refresh(record),
            lambda: self.deliver(record.migration_id, record.gate),
        ]

    def on_reject(self, click: Click) -> list[FollowUp]:
        record = self.book.get(click.migration_id, click.gate)
        refusal = may_reject(record, self.clicker(click.user_id), self.clock())
        if refusal is not None:
            return self._refuse(refusal, click, record)
        assert record is not None and click.trigger_id
        trigger = click.trigger_id
        return [lambda: self._open_reason_dialog(trigger, record)]

    def on_reason(self, submitted: ReasonSubmitted) -> tuple[dict[str, Any] | None, list[FollowUp]]:
        """(the answer to the dialog, follow-ups). A missing reason keeps the dialog open
        with Slack's ``response_action: errors``; anything else closes it."""
        now = self.clock()
        record = self.book.get(submitted.migration_id, submitted.gate)
        clicker = self.clicker(submitted.user_id)
        refusal = judge_rejection(record, clicker, submitted.reason, now)
        if refusal is not None and refusal.code == "reason_required":
            reply, _ = render_refusal(refusal, clicker=submitted.user_id, record=record)
            return {"response_action": "errors", "errors": {"reason": reply}}, []
        click = Click(
            submitted.user_id,
            submitted.migration_id,
            submitted.gate,
            record.channel if record else "",
        )
        if refusal is not None:
            return None, self._refuse(refusal, click, record)
        assert record is not None
        decision = GateDecision(
            decision="reject",
            approvers=[submitted.user_id],
            reason=submitted.reason.strip(),
            decided_at=now,
        )
        standing = self.book.decide(record.migration_id, record.gate, decision)
        if standing != decision:
            refusal = Refusal("already_decided", by=standing.approvers, at=standing.decided_at)
            return None, self._refuse(refusal, click, record)
        log.info("gate %s/%s rejected by %s", record.migration_id, record.gate, submitted.user_id)
        return None, [
            lambda: self._refresh(record),
            lambda: self.deliver(record.migration_id, record.gate),
        ]

    def on_revoke_now(self, click: RevokeClick) -> list[FollowUp]:
        """ "Revoke now": an active approver's click revokes every OAuth token of the
        migration's app at once (after Slack has its answer), and the thread is told what
        was revoked; anyone else is told why not, and nothing happens."""
        thread = self.book.thread_of(click.migration_id)
        channel, thread_ts = thread if thread else (click.channel, click.thread_ts)
        refusal = may_revoke(self.clicker(click.user_id))
        if refusal is not None:
            log.info("Revoke now on %s by %s refused: %s", click.migration_id, click.user_id,
                     refusal.code)  # fmt: skip
            reply, _ = render_refusal(refusal, clicker=click.user_id, record=None)
            return [lambda: self._reply_at(channel, thread_ts, click.user_id, reply)]
        revoker = self.revoker
        if revoker is None:
            reply = "This approval service cannot reach the orgs: revoke from a shell (`handover revoke --app NAME`)."  # fmt: skip
            return [lambda: self._reply_at(channel, thread_ts, click.user_id, reply)]
        app_name = revoker.app_of(click.migration_id)  # an unknown migration: ConfigError
        log.warning("Revoke now: every token of %s (migration %s), by %s", app_name,
                    click.migration_id, click.user_id)  # fmt: skip

        def revoke_and_tell() -> None:
            try:
                report = revoker.revoke(click.migration_id, click.user_id)
                message = render_revoked(migration_id=click.migration_id, app_name=app_name,
                                         clicker=click.user_id, report=report)  # fmt: skip
                log.warning("Revoke now %s: %d tokens revoked, %d sessions ended",
                            report.revoke_id, report.tokens_revoked, report.sessions_ended)  # fmt: skip
            except HandoverError as exc:
                log.error("Revoke now of %s failed: %s", app_name, exc)
                message = render_revoked(migration_id=click.migration_id, app_name=app_name,
                                         clicker=click.user_id, error=str(exc))  # fmt: skip
            self.slack.post(channel, text=message.text, blocks=message.blocks, thread_ts=thread_ts)

        return [revoke_and_tell]

    # -- the decision reaches the flow run --------------------------------------------------

    def run_input(self, record: GateRecord) -> dict[str, Any]:
        """The signed GateInput the flow run is resumed with."""
        o = record.outcome
        assert o is not None
        decided_at = tokens.decided_at_text(o.decided_at)
        token = tokens.sign(
            self.token_key,
            migration_id=record.migration_id,
            gate=record.gate,
            plan_hash=record.plan_hash,
            decision=o.decision,
            approvers=list(o.approvers),
            decided_at=decided_at,
        )
        gate_input = tokens.GateInput(
            decision=o.decision, approvers=list(o.approvers), reason=o.reason,
            decided_at=decided_at, token=token,
        )  # fmt: skip
        return gate_input.model_dump()

    def deliver(self, migration_id: str, gate: str, *, retry_now: bool = True) -> None:
        """Resume the gate's run with its decision, once; leave it for the reaper to retry
        when Prefect cannot take it yet (down, or the run not paused at this moment). The
        reaper passes ``retry_now=False``: its next pass is the retry, and with Prefect down
        a pass must not sleep through every pending gate."""
        record = self.book.get(migration_id, gate)
        if record is None or record.outcome is None or record.delivery is not None:
            return
        where = f"gate {migration_id}/{gate} (run {record.flow_run_id})"
        try:
            result = self._resume(record, retry_now)
            if result.status == "ABORT":
                state = self.runs.state_type(record.flow_run_id)
                if state is not None and state not in TERMINAL_STATES:
                    log.info("%s: the run is %s, not paused; retrying later", where, state)
                    return
                self.book.record_delivery(migration_id, gate, "run_ended", state or "no state")
            elif result.status == "REJECT" and "schema not found" in (result.reason or ""):
                # Prefect shows a run Suspended a moment before it has saved the schema of
                # the input it waits for: not ready for the decision yet, so no refusal.
                log.info("%s: the run is still suspending; retrying later", where)
                return
            elif result.status == "REJECT":
                timed_out = "timed out" in (result.reason or "")
                self.book.record_delivery(
                    migration_id, gate, "run_ended" if timed_out else "refused", result.reason
                )
                log.warning("%s: Prefect refused the decision: %s", where, result.reason)
            elif result.status == "WAIT":
                return
            else:
                self.book.record_delivery(migration_id, gate, "accepted")
                log.info("%s: resumed with %s", where, record.outcome.decision)
        except TransientPrefectError as exc:
            log.warning("%s: %s", where, exc)
            return
        except PrefectApiError as exc:
            if exc.status == 404:
                self.book.record_delivery(migration_id, gate, "run_ended", "no such flow run")
            else:
                log.error("%s: %s", where, exc)
                return
        self._refresh(record)

    def _resume(self, record: GateRecord, retry_now: bool) -> ResumeResult:
        """Resume the run, trying again at once when Prefect's answer was transient: its
        SQLite database answers 503 while another write holds it, which clears in moments.
        After ``RESUME_RETRIES`` the reaper delivers it on a later tick. Safe to repeat: a
        503 rolled the resume back, and a resume that did take answers ABORT (not paused)."""
        runs, run_input = self.runs, self.run_input(record)
        pauses = list(RESUME_RETRIES if retry_now else ())
        while True:
            try:
                return runs.resume(record.flow_run_id, run_input)
            except TransientPrefectError as exc:
                if not pauses:
                    raise
                pause = pauses.pop(0)
                log.info("gate %s/%s: %s; again in %g s", record.migration_id, record.gate,
                         exc, pause)  # fmt: skip
                self.sleep(pause)

    def expire(self, record: GateRecord) -> bool:
        """Close an undecided gate past its expiry as ``expired`` (True if this call did)."""
        decision = GateDecision(decision="expired", approvers=[], decided_at=self.clock())
        if self.book.decide(record.migration_id, record.gate, decision) != decision:
            return False
        log.info("gate %s/%s expired", record.migration_id, record.gate)
        self._refresh(record)
        self.deliver(record.migration_id, record.gate)
        return True

    # -- replies ----------------------------------------------------------------------------

    def _refuse(self, refusal: Refusal, click: Click, record: GateRecord | None) -> list[FollowUp]:
        votes = self.book.votes(record.migration_id, record.gate) if record else []
        needed = max(record.required_approvals - len(votes), 0) if record else 0
        reply, note = render_refusal(refusal, clicker=click.user_id, record=record, needed=needed)
        log.info(
            "click by %s on %s/%s refused: %s",
            click.user_id,
            click.migration_id,
            click.gate,
            refusal.code,
        )
        follow: list[FollowUp] = []
        if record is not None:
            self.book.add_note(record.migration_id, record.gate, note)
            follow.append(lambda: self._refresh(record))
        channel = record.channel if record else click.channel
        follow.insert(0, lambda: self._reply_in(channel, record, click.user_id, reply))
        return follow

    def _reply(self, record: GateRecord, user_id: str, text: str) -> None:
        self._reply_in(record.channel, record, user_id, text)

    def _reply_in(self, channel: str, record: GateRecord | None, user_id: str, text: str) -> None:
        self._reply_at(channel, (record.thread_ts or None) if record else None, user_id, text)

    def _reply_at(self, channel: str, thread: str | None, user_id: str, text: str) -> None:
        if not channel:
            return
        try:
            self.slack.post_ephemeral(channel, user_id, text=text, thread_ts=thread)
        except HandoverError as exc:
            log.warning("could not reply to %s: %s", user_id, exc)

    def _refresh(self, record: GateRecord) -> None:
        try:
            refresh_gate(self.book, self.slack, self.settings, record.migration_id, record.gate)
        except HandoverError as exc:
            log.warning(
                "could not update the message of gate %s/%s: %s",
                record.migration_id,
                record.gate,
                exc,
            )

    def _open_reason_dialog(self, trigger_id: str, record: GateRecord) -> None:
        try:
            self.slack.open_view(trigger_id, render_reject_dialog(record))
        except HandoverError as exc:
            log.warning(
                "could not open the reason dialog for %s/%s: %s",
                record.migration_id,
                record.gate,
                exc,
            )
