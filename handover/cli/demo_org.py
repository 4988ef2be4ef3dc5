"""What the demo shows of the emulated org and of Prefect: tables read with the real
simple-salesforce client (users, connected apps, a human's access to an app, the records
a migration touches) and the latest version of an artifact."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

# The records a migration writes, counted by kind: a rollback must bring every count back.
SNAPSHOT = {
    "Active users": "SELECT COUNT() FROM User WHERE IsActive = true",
    "Permission sets": "SELECT COUNT() FROM PermissionSet WHERE IsOwnedByProfile = false",
    "Permission set assignments": "SELECT COUNT() FROM PermissionSetAssignment WHERE PermissionSet.IsOwnedByProfile = false",
    "Permission set licence assignments": "SELECT COUNT() FROM PermissionSetLicenseAssign",
    "Object permissions": "SELECT COUNT() FROM ObjectPermissions",
    "Field permissions": "SELECT COUNT() FROM FieldPermissions",
    "Connected app access grants": "SELECT COUNT() FROM SetupEntityAccess",
}


def read_json(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def admin(info: Path) -> Any:
    """simple-salesforce as the org's admin, over the emulator's verified TLS."""
    from emulators.salesforce.client import connect

    return connect(read_json(info))


def users_by_license(console: Console, sf: Any) -> None:
    rows = sf.query(
        "SELECT Profile.UserLicense.Name, COUNT(Id) n FROM User WHERE IsActive = true "
        "GROUP BY Profile.UserLicense.Name"
    )["records"]
    table = Table(title="Active users by licence")
    table.add_column("Licence")
    table.add_column("Users", justify="right")
    for r in rows:
        table.add_row(r["Name"], str(r["n"]))
    console.print(table)


def connected_apps(console: Console, sf: Any) -> None:
    apps = sf.query(
        "SELECT Id, Name, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication "
        "ORDER BY Name"
    )["records"]
    tokens = Counter(
        r["AppName"] for r in sf.query_all("SELECT AppName FROM OauthToken")["records"]
    )
    table = Table(title="Connected apps")
    table.add_column("App")
    table.add_column("Admin pre-authorized")
    table.add_column("Refresh tokens", justify="right")
    for a in apps:
        table.add_row(
            a["Name"],
            "yes" if a["OptionsAllowAdminApprovedUsersOnly"] else "no",
            str(tokens.get(a["Name"], 0)),
        )
    console.print(table)


def findings(console: Console, found: list[dict[str, Any]]) -> None:
    from .tables import findings_table

    console.print(findings_table(found, title="Discovery findings"))
    for f in found:
        if f["verdict"] != "integration_under_human":
            continue
        console.print(
            f"[bold red]{f['app_name']}[/] as [bold]{f['username']}[/] (score {f['score']:.2f}): "
            + "; ".join(f["reasons"][:2]),
            highlight=False,
        )


def human_access(sf: Any, finding: dict[str, Any]) -> dict[str, Any]:
    """How the human reaches the app: tokens, open sessions, the app access grants of the
    permission sets assigned to them."""
    user, app = finding["user_id"], finding["app_name"]
    quoted = app.replace("'", "\\'")
    app_ids = [
        r["Id"]
        for r in sf.query(f"SELECT Id FROM ConnectedApplication WHERE Name = '{quoted}'")["records"]
    ]
    assigned = [
        r["PermissionSetId"]
        for r in sf.query_all(
            f"SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = '{user}'"
        )["records"]
    ]
    grants = 0
    if app_ids and assigned:
        ids = ", ".join(f"'{i}'" for i in assigned)
        grants = sf.query(
            f"SELECT COUNT() FROM SetupEntityAccess WHERE SetupEntityId = '{app_ids[0]}' "
            f"AND ParentId IN ({ids})"
        )["totalSize"]
    return {
        "OAuth tokens for the app": sf.query(
            f"SELECT COUNT() FROM OauthToken WHERE UserId = '{user}' AND AppName = '{quoted}'"
        )["totalSize"],
        "Open sessions": sf.query(f"SELECT COUNT() FROM AuthSession WHERE UsersId = '{user}'")[
            "totalSize"
        ],
        "App access through their permission sets": grants,
        "Account active": "yes"
        if sf.query(f"SELECT IsActive FROM User WHERE Id = '{user}'")["records"][0]["IsActive"]
        else "no",
    }


def snapshot(sf: Any) -> dict[str, int]:
    return {label: int(sf.query(soql)["totalSize"]) for label, soql in SNAPSHOT.items()}


def delete_one_object_permission(sf: Any, permission_set: str) -> str:
    """Delete one of the permission set's object permissions: the missing permission the
    demo plants so that verification fails. Returns what it deleted."""
    rows = sf.query(
        "SELECT Id, SobjectType FROM ObjectPermissions "
        f"WHERE Parent.Name = '{permission_set}' ORDER BY SobjectType"
    )["records"]
    if not rows:
        raise RuntimeError(f"{permission_set} has no object permissions to delete")
    sf.ObjectPermissions.delete(rows[0]["Id"])
    return f"the {rows[0]['SobjectType']} object permission"


def old_path(info: dict[str, Any], creds_file: Path, human: str) -> str:
    """Log in as the human the way the integration did (its JWT, its app): whether the
    old path still opens. The credentials file now names the new user; the key and the
    app are the same."""
    from emulators.salesforce.client import session_for
    from emulators.salesforce.workloads.credentials import login
    from emulators.salesforce.workloads.results import LoginFailed

    creds = read_json(creds_file) | {"username": human}
    session = session_for(info)
    try:
        login(info, creds, session)
    except LoginFailed as refused:
        return f"refused ({refused.code})"
    finally:
        session.close()
    return "accepted"


def gate_lines(message: dict[str, Any], most: int = 6) -> list[str]:
    """A gate message as a person reads it in Slack: its title, what approving does,
    what changes (the first few), and the buttons."""
    lines: list[str] = []
    buttons: list[str] = []
    for block in message.get("blocks") or []:
        text = (block.get("text") or {}).get("text") or ""
        if block.get("type") == "header":
            lines.append(f"[bold]{_plain(text)}[/]")
        elif block.get("type") == "section" and text.startswith("*What changes*"):
            changes = text.splitlines()[1:]
            lines += [_plain(c) for c in changes[:most]]
            if len(changes) > most:
                lines.append(f"… and {len(changes) - most} more")
        elif block.get("type") == "section" and "\n• " in text:  # the audit's sections
            head, *items = text.split("\n• ")
            lines.append(_plain(head))
            lines += ["• " + _plain(i) for i in items[:most]]
        elif block.get("type") == "section" and text.startswith("*") and "\n" in text:
            lines.append(_plain(text.split("\n", 1)[1].splitlines()[0]))
        elif block.get("type") == "actions":
            buttons = [f"[{e['text']['text']}]" for e in block.get("elements") or []]
    return lines + ([" ".join(buttons)] if buttons else [])


def plain(mrkdwn: str) -> str:
    """Slack mrkdwn to Rich text: no Rich markup from the org's data, no Slack emphasis,
    no emoji codes."""
    import re

    from rich.markup import escape

    return escape(re.sub(r":[a-z_]+: ", "", mrkdwn).replace("*", "").replace("`", ""))


_plain = plain


def head(markdown: str, *, stop: str) -> str:
    """The Markdown up to the heading ``stop`` (the whole text when it has none)."""
    return markdown.split(stop, 1)[0]


def compare(console: Console, what: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    table = Table(title=f"Before and after: {what}")
    for col in ("", "Before", "After", ""):
        table.add_column(col, justify="right" if col in ("Before", "After") else "left")
    for label, was in before.items():
        now = after.get(label)
        table.add_row(label, str(was), str(now), "[green]=[/]" if now == was else "[yellow]≠[/]")
    console.print(table)


def latest_artifact(key: str) -> str | None:
    """The latest version of the artifact ``key`` on the current Prefect server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    return str(found[0].data) if found else None
