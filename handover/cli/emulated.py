"""The stack's emulators from the outside, over HTTP: the Slack emulator's messages and
clicks (as the scenario's approvers), the emulated org's clock (advanced with its
workloads running). What the demo, the stack's tests and the benchmark do by hand
instead of people and a day of waiting; each call goes through the emulators' own
endpoints, as a person's click or a day's traffic would.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from handover.errors import StackError

from .stack import UpRecord

APPROVE, REJECT = "gate_approve", "gate_reject"


class Emulated:
    """The stack's emulators; ``org_info`` names another emulated org (an emulator's
    --info file) to move the clock of instead of the stack's."""

    def __init__(self, record: UpRecord, org_info: Path | None = None) -> None:
        if not (record.salesforce_info and record.slack_info):
            raise StackError(
                "this stack runs without the emulators: `handover up --emulators` starts them",
                part="stack",
            )
        self.record = record
        self.slack = json.loads(Path(record.slack_info).read_text())
        self.org = json.loads(Path(org_info or record.salesforce_info).read_text())
        self._http = httpx.Client(timeout=60)
        tls = ssl.create_default_context(cafile=self.org["ca_bundle"])
        self._org_http = httpx.Client(timeout=900, verify=tls)

    def close(self) -> None:
        self._http.close()
        self._org_http.close()

    # -- Slack ---------------------------------------------------------------------------

    def approvers(self) -> list[str]:
        """The scenario's approvers' Slack ids (its ``slack_users`` with approver: true)."""
        from emulators.slack.scenario import load_slack_users

        _, users = load_slack_users(Path(self.record.scenario or ""))
        return [u.id for u in users or [] if u.approver]

    def messages(self) -> list[dict[str, Any]]:
        return list(self._http.get(self.slack["messages_url"]).json()["messages"])

    def gate_message(self, migration_id: str, gate: str) -> dict[str, Any] | None:
        """The message of that gate while it still carries its buttons."""
        for message in self.messages():
            if (migration_id, gate) in _buttons(message):
                return message
        return None

    def click(
        self, ts: str, action_id: str, user_id: str, reason: str | None = None
    ) -> dict[str, Any]:
        body = {"ts": ts, "action_id": action_id, "user_id": user_id}
        if reason is not None:
            body["reason"] = reason
        answer = self._http.post(self.slack["click_url"], json=body)
        answer.raise_for_status()
        return dict(answer.json())

    def decide(
        self,
        migration_id: str,
        gate: str,
        who: list[str],
        *,
        action: str = APPROVE,
        reason: str | None = None,
        timeout: float = 120,
    ) -> dict[str, Any]:
        """Click the gate's button as each of ``who`` once its message is posted; the
        message as it was before the clicks."""
        message = wait_for(
            lambda: self.gate_message(migration_id, gate),
            timeout=timeout,
            what=f"the {gate} gate of {migration_id} in Slack",
        )
        for user in who:
            answer = self.click(message["ts"], action, user, reason)
            if answer.get("status") != 200:
                raise StackError(f"the approval service refused the click of {user}: {answer}")
        return message

    # -- the org's clock -------------------------------------------------------------------

    def _clock(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = self._org_http.post(
            self.org["instance_url"] + "/_emulator/clock",
            json=body,
            headers={"X-Emulator-Control": self.org["control_token"]},
        )
        answer.raise_for_status()
        return dict(answer.json())

    def now(self) -> datetime:
        return datetime.fromisoformat(self._clock({"seconds": 0})["now"])

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the org's clock on with every workload running live over the span; the
        span's summary (per workload: runs, who logged in, calls ok and failed)."""
        return self._clock({"seconds": max(0.0, seconds), "run_workloads": True})


def _buttons(message: dict[str, Any]) -> set[tuple[str, str]]:
    found = set()
    for block in message.get("blocks") or []:
        for element in block.get("elements") or [] if block.get("type") == "actions" else []:
            if element.get("action_id") != APPROVE:
                continue
            try:
                value = json.loads(element.get("value") or "")
            except ValueError:
                continue
            if isinstance(value, dict):
                found.add((str(value.get("migration_id")), str(value.get("gate"))))
    return found


def wait_for(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise StackError(f"waited {timeout:.0f} s for {what}")
        time.sleep(every)
