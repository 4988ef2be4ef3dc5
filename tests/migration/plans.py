"""Hand-built access plans for the migration's tests (a plan is data: no planner needed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from handover.models import AccessPlan

T0 = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)


def make_plan(
    *,
    username: str = "svc-erp@tiny.example.com",
    ps_name: str = "HO_ERP_Sync_1a2b3c4d",
    objects: list[dict[str, Any]] | None = None,
    fields: list[dict[str, Any]] | None = None,
    apps: Sequence[tuple[str, str]] = (),
    operations: Sequence[tuple[str, str, int]] = (),
    days_observed: int = 14,
    app_name: str = "ERP Sync",
    human_id: str = "005000000000001AAA",
    human_username: str = "jane.doe@tiny.example.com",
    status: str = "ready",
) -> AccessPlan:
    """A ready plan: ``objects`` as {"object", "read", ...}, ``fields`` as {"field", "read",
    "edit"}, ``apps`` as (connected app id, name), ``operations`` as (object, op, count)."""
    objects = (
        objects
        if objects is not None
        else [
            {"object": "Account", "read": True},
            {"object": "Contact", "read": True, "create": True, "edit": True},
        ]
    )
    fields = (
        fields
        if fields is not None
        else [
            {"field": "Account.Phone", "read": True},
            {"field": "Contact.Email", "read": True, "edit": True},
        ]
    )
    return AccessPlan.model_validate(
        {
            "status": status,
            "finding_id": "f-1a2b3c4d5e6f",
            "org_id": "00D000000000001AAA",
            "app_name": app_name,
            "app_key": f"app:{apps[0][0]}" if apps else "client:erp",
            "human": {
                "user_id": human_id,
                "username": human_username,
                "name": "Jane Doe",
                "profile": "Standard User",
                "license": "Salesforce",
                "permission_sets": [],
                "permission_set_groups": [],
                "system_permissions": ["ApiEnabled"],
                "modify_all_data": False,
                "view_all_data": False,
                "reachable_objects": 10,
            },
            "user": {
                "username": username,
                "alias": "intgerp",
                "email": "integrations+erp@tiny.example.com",
                "first_name": "Integration",
                "last_name": app_name,
                "profile": "Minimum Access - API Only Integrations",
                "license": "Salesforce Integration",
                "permission_set_license": "Salesforce API Integration",
                "time_zone": "GMT",
                "locale": "en_US",
                "language": "en_US",
                "email_encoding": "UTF-8",
            },
            "permission_set": {
                "name": ps_name,
                "label": f"{app_name} integration (handover)",
                "license": "SalesforceAPIIntegrationPsl",
                "description": "Least privilege for the integration (handover).",
                "object_permissions": objects,
                "field_permissions": fields,
                "system_permissions": ["ApiEnabled"],
                "connected_app_access": [{"app_id": i, "app_name": n} for i, n in apps],
            },
            "provenance": [],
            "blockers": [],
            "evidence_window": {
                "start": date(2026, 9, 17),
                "end": date(2026, 9, 30),
                "days_in_window": 14,
                "days_observed": days_observed,
                "gap_days": [],
                "unrecorded_days": [],
                "cadence": "daily",
                "period_days": 1,
                "cycles": 14,
                "cycles_needed": 2,
                "active_days": 14,
                "first_active": date(2026, 9, 17),
                "last_active": date(2026, 9, 30),
                "total_calls": sum(n for _, _, n in operations),
            },
            "field_level_evidence": "missing",
            "field_coverage": [],
            "operations": [
                {"object": o, "operation": op, "count": n, "first_seen": T0, "last_seen": T0}
                for o, op, n in operations
            ],
            "field_usage": [],
            "notes": [],
            "headline": "test plan",
            "hash": "0" * 64,
        }
    )
