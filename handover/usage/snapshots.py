"""Snapshot rows: the org's current users, OAuth tokens, connected apps, who may use them
(SetupEntityAccess) and permission set assignments, as table rows. Pure; the store
replaces each snapshot whole. SOQL rows are accepted flat ("Parent.ProfileId") or nested
as simple-salesforce returns them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..datetimes import parse_sf_datetime
from ..ids import norm_id
from ..models import UserInfo
from .writes import soql_value

Row = dict[str, Any]


def _unique(rows: Iterable[tuple[Any, Row]]) -> list[Row]:
    """The last row per key: a snapshot may list a record twice across query pages."""
    return list(dict(rows).values())


def user_rows(users: list[UserInfo]) -> list[Row]:
    return _unique(
        (norm_id(u.user_id), {
            "user_id": norm_id(u.user_id), "username": u.username, "name": u.name,
            "email": u.email, "license": u.license, "profile": u.profile,
            "is_active": u.is_active, "last_login": u.last_login, "title": u.title,
            "department": u.department,
        })
        for u in users
    )  # fmt: skip


def token_rows(rows: list[Row]) -> list[Row]:
    """OauthToken rows; several grants of one user and app are kept apart (UseCount adds)."""
    return [
        {
            "user_id": norm_id(soql_value(r, "UserId")),
            "app_name": str(soql_value(r, "AppName") or ""),
            "app_id": norm_id(soql_value(r, "AppMenuItem.ApplicationId")),
            "use_count": soql_value(r, "UseCount"),
            "last_used": parse_sf_datetime(soql_value(r, "LastUsedDate")),
            "created": parse_sf_datetime(soql_value(r, "CreatedDate")),
        }
        for r in rows
    ]


def app_rows(apps: list[Row]) -> list[Row]:
    return _unique(
        (norm_id(a["Id"]), {
            "app_id": norm_id(a["Id"]), "name": str(a.get("Name") or ""),
            "admin_approved_only": bool(a.get("OptionsAllowAdminApprovedUsersOnly")),
        })
        for a in apps
    )  # fmt: skip


def access_rows(rows: list[Row]) -> list[Row]:
    return _unique(
        ((norm_id(r["SetupEntityId"]), norm_id(r["ParentId"])), {
            "app_id": norm_id(r["SetupEntityId"]), "parent_id": norm_id(r["ParentId"]),
            "is_owned_by_profile": bool(soql_value(r, "Parent.IsOwnedByProfile")),
            "profile_id": norm_id(soql_value(r, "Parent.ProfileId")),
        })
        for r in rows
    )  # fmt: skip


def assignment_rows(rows: list[Row]) -> list[Row]:
    return _unique(
        ((norm_id(r["AssigneeId"]), norm_id(r["PermissionSetId"])), {
            "assignee_id": norm_id(r["AssigneeId"]),
            "permission_set_id": norm_id(r["PermissionSetId"]),
            "permission_set_name": str(soql_value(r, "PermissionSet.Name") or ""),
            "is_owned_by_profile": bool(soql_value(r, "PermissionSet.IsOwnedByProfile")),
        })
        for r in rows
    )  # fmt: skip
