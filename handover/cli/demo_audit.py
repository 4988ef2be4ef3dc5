"""The demo's last act: least privilege over time, and the emergency revoke.

7. The audit (the `audit` flow, run from the demo's shell): the Shipping Label Service's
   Integration User was given Product2 Edit "for a test" and never used it (planted here,
   through the API); the audit proposes removing it, the proposal is approved in Slack by
   the security engineer, applied, read back.
8. A key leaks: "Revoke now" on the MuleSoft migration's thread in Slack (clicked as the
   security engineer), then the rotation (a new certificate on the connected app, the new
   private key to the file the MuleSoft runtime reads; the leaked key refused), the org's
   clock moved an hour with the workloads running, and the sync back on its new key.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from . import demo_org
from .emulated import APPROVE, Emulated, wait_for
from .stack import StackPaths, UpRecord
from .stack import token_key as stack_token_key

SECURITY = "U0LOOMIS02"  # Nadia Okafor, the security engineer (an approver in loomis.yaml)
AUDITED_SET, PLANTED = "Shipping_Label_Service", "Product2"
REVOKE = "revoke_now"


def run(
    console: Console,
    record: UpRecord,
    paths: StackPaths,
    sf: Any,
    info: Path,
    migration_id: str,
    workload: str,
) -> None:
    started = time.monotonic()
    console.rule("7. The weekly audit: least privilege over time")
    audit(console, record, paths, sf, info)
    console.rule("8. A key leaks: Revoke now, the rotation, and the integration back")
    revoke_and_rotate(console, record, info, migration_id, workload)
    console.print(f"[dim](the audit and the revoke took {time.monotonic() - started:.0f} s)[/]")


# ---------------------------------------------------------------------- 7. the audit


def audit(console: Console, record: UpRecord, paths: StackPaths, sf: Any, info: Path) -> None:
    from flows.audit import audit as audit_flow

    ps = sf.query(f"SELECT Id FROM PermissionSet WHERE Name = '{AUDITED_SET}'")["records"][0]
    sf.ObjectPermissions.create(
        {"ParentId": ps["Id"], "SobjectType": PLANTED, "PermissionsRead": True,
         "PermissionsEdit": True}
    )  # fmt: skip
    console.print(
        f"   [red]Planted an unused grant[/red]: {PLANTED} Read + Edit on {AUDITED_SET}, "
        "the Shipping Label Service's permission set (someone's test, never taken back)"
    )
    # The flow runs here, as `handover audit` would: with the stack's approval settings.
    slack = demo_org.read_json(Path(record.slack_info or ""))
    os.environ["HANDOVER_APPROVALS__TOKEN_KEY"] = stack_token_key(paths)
    if slack.get("approver_group"):
        os.environ["HANDOVER_APPROVALS__APPROVER_GROUP"] = str(slack["approver_group"])
    os.environ.setdefault("HANDOVER_APPROVALS__POLL_SECONDS", "0.5")
    console.print("`handover audit --emulator …`: every dedicated Integration User reviewed")
    clicker = _Approver(record, console)
    clicker.start()
    try:
        result = audit_flow(emulator_info=str(info))
    finally:
        clicker.stop()
    for user in result["users"]:
        outcome = result["outcomes"].get(user["user_id"], "no change proposed")
        console.print(f"   {user['username']}: [bold]{outcome.split(':')[0]}[/]",
                      highlight=False)  # fmt: skip
    rows = sf.query(
        "SELECT SobjectType FROM ObjectPermissions "
        f"WHERE Parent.Name = '{AUDITED_SET}' ORDER BY SobjectType"
    )["records"]
    console.print(
        f"   {AUDITED_SET} now grants: {', '.join(r['SobjectType'] for r in rows)} "
        "(read back from the org) · report: artifact integration-user-audit in the Prefect UI"
    )


class _Approver(threading.Thread):
    """The security engineer at her desk: once the audit's gate is in Slack, she reads it
    and clicks Approve (as the autopilot does for the migrations' gates)."""

    def __init__(self, record: UpRecord, console: Console) -> None:
        super().__init__(name="demo-audit-approver", daemon=True)
        self.emulated, self.console = Emulated(record), console
        self._done = threading.Event()

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=5)
        self.emulated.close()

    def run(self) -> None:
        while not self._done.is_set():
            message = next(
                (m for m in self.emulated.messages() if _audit_gate(m) is not None), None
            )
            if message is not None:
                for i, line in enumerate(demo_org.gate_lines(message)):
                    self.console.print(("[bold cyan]Slack[/] " if i == 0 else "      ") + line,
                                       highlight=False)  # fmt: skip
                time.sleep(1.0)  # a person reads first; Prefect saves the run's input schema
                answer = self.emulated.click(message["ts"], APPROVE, SECURITY)
                self.console.print(
                    "      [green]✓ approved[/] by Nadia Okafor (clicked in the Slack emulator)"
                    if answer.get("status") == 200
                    else f"      [red]the click was refused[/]: {answer}"
                )
                return
            self._done.wait(0.5)


def _audit_gate(message: dict[str, Any]) -> str | None:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or [] if block.get("type") == "actions" else []:
            if element.get("action_id") != APPROVE:
                continue
            value = json.loads(element.get("value") or "{}")
            if value.get("gate") == "audit":
                return str(value.get("migration_id"))
    return None


# ---------------------------------------------------------------------- 8. the revoke


def revoke_and_rotate(
    console: Console, record: UpRecord, info: Path, migration_id: str, workload: str
) -> None:
    from emulators.salesforce.client import session_for
    from emulators.salesforce.workloads import credential_file
    from emulators.salesforce.workloads.credentials import login
    from emulators.salesforce.workloads.results import LoginFailed
    from handover.rotation import check_back
    from handover.settings import Settings
    from handover.slack.revoke_now import revoke_key
    from handover.store.ledger import Ledger
    from handover.store.plans import PlanStore

    from .demo import _span
    from .revoke import connect, rotate_after

    org = demo_org.read_json(info)
    creds = credential_file(Path(org["credentials_dir"]), workload)
    leaked = demo_org.read_json(creds)
    emulated = Emulated(record)
    try:
        notice = wait_for(
            lambda: next(
                (m for m in emulated.messages() for b in m.get("blocks") or []
                 for e in b.get("elements") or [] if b.get("type") == "actions"
                 and e.get("action_id") == REVOKE and revoke_key(e.get("value", "")) == migration_id),
                None,
            ),
            timeout=30, what="the migration's last message in Slack",
        )  # fmt: skip
        console.print(
            f"[bold cyan]Slack[/] {_first_line(notice)}  [Revoke now]\n"
            "   The MuleSoft runtime's private key is found in a public repository. Nadia "
            "clicks [bold]Revoke now[/bold] on the migration's thread and confirms.",
            highlight=False,
        )
        emulated.click(notice["ts"], REVOKE, SECURITY)
        said = wait_for(
            lambda: next(
                (m for m in emulated.messages()
                 if m.get("thread_ts") in (notice.get("thread_ts"), notice["ts"])
                 and "Revoked now" in m["text"] and m["ts"] > notice["ts"]),
                None,
            ),
            timeout=60, what="the revoke's message in the thread",
        )  # fmt: skip
        for i, block in enumerate(b for b in said["blocks"] if b["type"] == "section"):
            for line in block["text"]["text"].splitlines():
                console.print(
                    ("[bold cyan]Slack[/] " if i == 0 and line else "      ")
                    + demo_org.plain(line.replace(f"<@{SECURITY}>", "Nadia Okafor")),
                    highlight=False,
                )  # fmt: skip
        settings = Settings()
        gateway, store_url = connect(settings, None, info)
        with Ledger(store_url) as ledger:
            revoke_id = max(
                (m for m in ledger.migrations() if m.migration_id.startswith("r-")),
                key=lambda m: m.created_at,
            ).migration_id
            status = ledger.migration(migration_id)
            assert status is not None
            with PlanStore(store_url) as plans:
                user = plans.load(status.plan_hash).user.username
            console.print(
                f'`handover revoke --app "{status.app_name}" --rotate --rotate-user {user}`: '
                "new credentials for the integration (Dana's JWT logins through the app are "
                "in LoginHistory too: the integration's user is named)", highlight=False,
            )  # fmt: skip
            rotation = rotate_after(
                gateway, ledger, settings, revoke_id, status.app_name, None, user, None, None
            )
            console.print(
                f"   rotated: {', '.join(rotation.kinds)} of {rotation.username}, handed over "
                f"through {rotation.sink}", highlight=False,
            )  # fmt: skip
            session = session_for(org)
            try:
                login(org, leaked, session)
                console.print("   [red]the leaked key still logs in[/red]")
            except LoginFailed as refused:
                console.print(f"   the leaked key is refused now: [bold]{refused.code}[/]")
            finally:
                session.close()
            _span(console, emulated.advance(7200), workload)
            back = check_back(gateway, ledger, revoke_id)
        console.print(
            ("[bold green]Back[/]: " if back.back else "[bold red]Not back[/]: ")
            + "; ".join(back.reasons),
            highlight=False,
        )
    finally:
        emulated.close()


def _first_line(message: dict[str, Any]) -> str:
    for block in message.get("blocks") or []:
        text = (block.get("text") or {}).get("text")
        if block.get("type") == "section" and text:
            return demo_org.plain(text.splitlines()[0])
    return ""
