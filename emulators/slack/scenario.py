"""The Slack side of a scenario file: its ``slack_users`` (and ``org.name`` for the team).

    slack_users:
      - {id: U0LOOMIS01, name: Sam Whitfield, email: sam.whitfield@loomis-logistics.com, approver: true}

Each user gets that Slack id, ``name`` as their real name and the email's local part as
their handle; approvers also go into the ``handover-approvers`` user group (what
``HANDOVER_APPROVALS__APPROVER_GROUP`` points at). A scenario without ``slack_users`` (or no
scenario) gives the default workspace. This reads the YAML on its own: the emulators share
no code with each other, and the Salesforce scenario model validates the same key for the org.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .models import APPROVERS_HANDLE, Workspace

SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
KEYS = {"id", "name", "email", "approver"}


class SlackScenarioError(ValueError):
    """A scenario's ``slack_users`` that cannot make a workspace; the message says which."""


@dataclass(frozen=True)
class SlackUserSpec:
    id: str
    name: str
    email: str
    approver: bool

    @property
    def handle(self) -> str:
        return self.email.split("@", 1)[0].lower()


def _user(entry: Any, where: str) -> SlackUserSpec:
    if not isinstance(entry, dict):
        raise SlackScenarioError(f"{where}: expected a mapping {{id, name, email, approver}}")
    unknown = sorted(set(entry) - KEYS)
    if unknown:
        raise SlackScenarioError(f"{where}: unknown keys {unknown}; known: {sorted(KEYS)}")
    missing = sorted(k for k in ("id", "name", "email") if not entry.get(k))
    if missing:
        raise SlackScenarioError(f"{where}: missing {', '.join(missing)}")
    user_id, email = str(entry["id"]), str(entry["email"])
    if not SLACK_ID.match(user_id):
        raise SlackScenarioError(f"{where}: id {user_id!r} is not a Slack user id (U0LOOMIS01)")
    if email.count("@") != 1:
        raise SlackScenarioError(f"{where}: email {email!r} is not an email address")
    approver = entry.get("approver", False)
    if not isinstance(approver, bool):
        raise SlackScenarioError(f"{where}: approver must be true or false")
    return SlackUserSpec(id=user_id, name=str(entry["name"]), email=email, approver=approver)


def load_slack_users(path: Path) -> tuple[str | None, list[SlackUserSpec] | None]:
    """(the org's name, its Slack users); users None when the scenario has no ``slack_users``."""
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SlackScenarioError(f"{path}: cannot read the scenario: {exc}") from exc
    if not isinstance(doc, dict):
        raise SlackScenarioError(f"{path}: a scenario is a mapping")
    org = doc.get("org")
    team = str(org["name"]) if isinstance(org, dict) and org.get("name") else None
    raw = doc.get("slack_users")
    if raw is None:
        return team, None
    if not isinstance(raw, list) or not raw:
        raise SlackScenarioError(f"{path}: slack_users must be a non-empty list")
    users = [_user(e, f"{path}: slack_users[{i}]") for i, e in enumerate(raw)]
    for attr in ("id", "email", "handle"):
        seen: set[str] = set()
        for u in users:
            value = getattr(u, attr).lower()
            if value in seen:
                raise SlackScenarioError(f"{path}: slack_users: {attr} {value!r} appears twice")
            seen.add(value)
    return team, users


def _domain(team: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", team.lower()).strip("-") or "workspace"


def workspace_from_scenario(path: Path | None, *, seed: int = 0) -> Workspace:
    """The workspace of a scenario file (the default workspace without one)."""
    if path is None:
        return Workspace(seed=seed)
    team, users = load_slack_users(path)
    if users is None:
        if team is None:
            return Workspace(seed=seed)
        return Workspace(team_name=team, domain=_domain(team), seed=seed)
    name = team or "Loomis Logistics"
    ws = Workspace(team_name=name, domain=_domain(name), seed=seed, with_defaults=False)
    for spec in users:
        ws.add_user(spec.handle, real_name=spec.name, email=spec.email, user_id=spec.id)
    ws.seed_channels()
    approvers = [u.id for u in users if u.approver]
    if approvers:
        ws.add_usergroup(APPROVERS_HANDLE, approvers, name="handover approvers")
    return ws
