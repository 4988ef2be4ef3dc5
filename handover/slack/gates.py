"""Gate messages: one Slack thread per migration, one message per gate, updated as votes,
refusals and the decision come in. All wording lives in ``templates/slack/gate_*.json.j2``;
this module chooses the template, renders it with the gate's state, checks Block Kit's
limits (a problem is a template bug: ValueError) and posts or updates the message.

The flow opens a gate with ``open_gate`` (idempotent: a flow re-run from the top finds the
gate already open and posts nothing); the approval service re-renders it with
``refresh_gate`` after every change.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from handover.blockkit import block_kit_problems, view_problems
from handover.migration.steps import gate_kind, may_extend
from handover.render import environment
from handover.settings import ApprovalsSettings

from .digest import RenderedMessage
from .gatebook import GATES, GateBook, GateMessage, GateRecord, Vote
from .gateway import Posted, SlackGateway
from .rules import Refusal
from .text import clip, mention, mrkdwn, when

REJECT_CALLBACK = "gate_reject_reason"  # the reason dialog's callback_id
REASON_BLOCK = REASON_ACTION = "reason"
MAX_NOTES_KEPT = 20  # the message shows the last 3; the book keeps a few more for the record


def _helpers() -> dict[str, Any]:
    return {"mrkdwn": mrkdwn, "clip": clip, "when": when, "mention": mention}


def who_may_approve(settings: ApprovalsSettings) -> str:
    """The allowlist as people read it: mentions of the users and the user group."""
    names = [mention(u) for u in settings.approvers]
    if settings.approver_group:
        names.append(f"<!subteam^{settings.approver_group}>")
    if not names:
        return "nobody is configured yet (HANDOVER_APPROVALS__APPROVERS)"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def required_approvals(gate: str, settings: ApprovalsSettings) -> int:
    return 2 if gate == "decommission" and settings.two_person_decommission else 1


def button_value(record: GateRecord) -> str:
    """What the buttons carry: which gate, nothing secret (any channel member can read it)."""
    return json.dumps({"migration_id": record.migration_id, "gate": record.gate})


def gate_key(value: str) -> tuple[str, str] | None:
    """(migration_id, gate) from a button value or a dialog's private_metadata."""
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    migration_id, gate = data.get("migration_id"), data.get("gate")
    if isinstance(migration_id, str) and isinstance(gate, str) and migration_id and gate:
        return migration_id, gate
    return None


def render_gate(record: GateRecord, votes: list[Vote], *, who: str) -> RenderedMessage:
    """The gate's message as it stands: open (with buttons and approvals so far) or decided."""
    template = environment().get_template(f"slack/gate_{gate_kind(record.gate)}.json.j2")
    needed = max(record.required_approvals - len(votes), 0)
    rendered = template.render(
        r=record,
        m=record.message,
        votes=votes,
        who=who,
        needed=needed,
        button_value=button_value(record),
        may_extend=may_extend(record.gate),
        **_helpers(),
    )
    message = RenderedMessage.model_validate(json.loads(rendered))
    problems = block_kit_problems(message.blocks, text=message.text)
    if problems:
        raise ValueError(
            f"gate_{gate_kind(record.gate)}.json.j2 broke Block Kit limits: {'; '.join(problems)}"
        )
    return message


def render_reject_dialog(record: GateRecord) -> dict[str, Any]:
    view: dict[str, Any] = json.loads(
        environment()
        .get_template("slack/gate_reject_modal.json.j2")
        .render(r=record, metadata=button_value(record), **_helpers())
    )
    problems = view_problems(view)
    if problems:
        raise ValueError(f"gate_reject_modal.json.j2 broke Block Kit limits: {'; '.join(problems)}")
    return view


def render_refusal(
    refusal: Refusal, *, clicker: str, record: GateRecord | None, needed: int = 0
) -> tuple[str, str]:
    """(the reply to the person who clicked, the note added to the gate message)."""
    return _reply(refusal.code, refusal, clicker=clicker, record=record, needed=needed)


def render_recorded(*, clicker: str, record: GateRecord, needed: int) -> str:
    """The reply to a first approval at a gate that needs more."""
    return _reply(
        "recorded", Refusal("already_voted"), clicker=clicker, record=record, needed=needed
    )[0]


def _reply(
    code: str, refusal: Refusal, *, clicker: str, record: GateRecord | None, needed: int
) -> tuple[str, str]:
    words = json.loads(
        environment()
        .get_template("slack/gate_refusal.json.j2")
        .render(
            code=code,
            clicker=clicker,
            by=refusal.by,
            at=refusal.at,
            r=record,
            needed=needed,
            **_helpers(),
        )
    )
    return str(words["reply"]), str(words["note"])


def render_ignored_resume(record: GateRecord, why: str) -> tuple[RenderedMessage, str]:
    """(the thread message, the note for the gate message) about an ignored resume."""
    rendered = json.loads(
        environment()
        .get_template("slack/gate_ignored_resume.json.j2")
        .render(r=record, why=why, **_helpers())
    )
    note = str(rendered.pop("note"))
    message = RenderedMessage.model_validate(rendered)
    problems = block_kit_problems(message.blocks, text=message.text)
    if problems:
        raise ValueError(
            f"gate_ignored_resume.json.j2 broke Block Kit limits: {'; '.join(problems)}"
        )
    return message, note


def open_gate(
    book: GateBook,
    slack: SlackGateway,
    settings: ApprovalsSettings,
    *,
    migration_id: str,
    gate: str,
    flow_run_id: str,
    plan_hash: str,
    channel: str,
    human_email: str,
    message: GateMessage,
    now: datetime,
) -> GateRecord:
    """Post the gate's message (in the migration's thread, or opening it) and record the
    gate; a gate the book already has is returned as it is, nothing posted."""
    if gate not in GATES:
        raise ValueError(f"unknown gate {gate!r}; gates are {', '.join(GATES)}")
    existing = book.get(migration_id, gate)
    if existing is not None:
        return existing
    thread = book.thread_of(migration_id)
    draft = GateRecord(
        migration_id=migration_id,
        gate=gate,  # type: ignore[arg-type]  # validated by the model
        flow_run_id=flow_run_id,
        plan_hash=plan_hash,
        channel=thread[0] if thread else channel,
        ts="0",
        thread_ts=thread[1] if thread else None,
        opened_at=now,
        expires_at=now + timedelta(hours=settings.gate_ttl_hours),
        human_email=human_email.strip().lower(),
        required_approvals=required_approvals(gate, settings),
        message=message,
    )
    rendered = render_gate(draft, [], who=who_may_approve(settings))
    posted = slack.post(
        draft.channel, text=rendered.text, blocks=rendered.blocks, thread_ts=draft.thread_ts
    )
    return book.add_gate(draft.model_copy(update={"channel": posted.channel, "ts": posted.ts}))


def refresh_gate(
    book: GateBook, slack: SlackGateway, settings: ApprovalsSettings, migration_id: str, gate: str
) -> GateRecord | None:
    """Re-render the gate's message from the book (votes, notes, decision) and update it."""
    record = book.get(migration_id, gate)
    if record is None:
        return None
    rendered = render_gate(record, book.votes(migration_id, gate), who=who_may_approve(settings))
    slack.update(Posted(record.channel, record.ts), text=rendered.text, blocks=rendered.blocks)
    return record


def note_ignored_resume(
    book: GateBook, slack: SlackGateway, settings: ApprovalsSettings, record: GateRecord, why: str
) -> None:
    """Say in the thread that a resume without a valid approval was ignored (the flow calls
    this when ``tokens.verify_input`` fails, then waits again)."""
    message, note = render_ignored_resume(record, why)
    slack.post(
        record.channel,
        text=message.text,
        blocks=message.blocks,
        thread_ts=record.thread_ts or record.ts,
    )
    book.add_note(record.migration_id, record.gate, note)
    refresh_gate(book, slack, settings, record.migration_id, record.gate)
