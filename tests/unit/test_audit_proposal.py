"""The audit's judgement (pure): removals only on enough evidence, additions exactly what a
denied operation needs (never View All / Modify All, never on the profile), risks, and the
writes and read-back of an approved change."""

from __future__ import annotations

from handover.audit.changes import change_actions, verify_change
from handover.audit.proposal import is_denied, review
from handover.models.audit import HeldObject, Usage, UserAudit

PS = "0PS000000000001AAA"
PROFILE = "0PS000000000002AAA"


def audit(**more: object) -> UserAudit:
    base = {
        "user_id": "005000000000001AAA",
        "username": "svc@x.test",
        "source": "discovery",
        "apps": ["Printer"],
        "held": [
            HeldObject(
                permission_set_id=PS,
                permission_set="Printer_Access",
                object="Order",
                flags=["read", "edit"],
            ),
            HeldObject(
                permission_set_id=PS,
                permission_set="Printer_Access",
                object="Case",
                flags=["read", "create", "view_all"],
            ),
            HeldObject(
                permission_set_id=PROFILE,
                permission_set="Minimum Access",
                owned_by_profile=True,
                object="Account",
                flags=["read"],
            ),
        ],
        "used": [Usage(object="Order", operation="update", calls=40)],
        "denied": [Usage(object="Contact", operation="create", calls=7, status="404")],
    }
    return UserAudit.model_validate({**base, **more})


def test_unused_grants_are_removed_and_denied_calls_added_only_as_needed() -> None:
    r = review(audit(), insufficient=[], system={"ApiEnabled": "profile Minimum Access"},
               window="7 days")  # fmt: skip
    by = {(c.kind, c.object): c.flags for c in r.changes}
    assert by == {
        ("remove", "Case"): ["read", "create", "view_all"],
        ("add", "Contact"): ["read", "create"],
    }
    assert all(c.permission_set_id == PS for c in r.changes)  # never the profile's set
    assert {k.permission for k in r.risks} == {"API Enabled", "View All on Case"}
    assert r.hash and r.hash == review(audit(), insufficient=[], system={}, window="7 days").hash


def test_thin_evidence_removes_nothing_but_still_proposes_the_denied_call() -> None:
    r = review(audit(), insufficient=["Printer: only 3 days observed"], system={}, window="3 days")
    assert [c.kind for c in r.changes] == ["add"]
    assert r.not_judged == ["Printer: only 3 days observed"]


def test_statuses_that_are_denials() -> None:
    assert [is_denied(s) for s in ("403", "404", "400", "failure", "429", "503", "200")] == [
        True, True, True, True, False, False, False
    ]  # fmt: skip


def test_an_approved_change_is_written_as_batches_and_verified_by_reading_back() -> None:
    a = audit()
    r = review(a, insufficient=[], system={}, window="7 days")
    actions = change_actions(a.held, r.changes)
    upsert, remove = actions
    assert upsert.after["records"] == [
        {"SobjectType": "Contact", "PermissionsRead": True, "PermissionsCreate": True,
         "PermissionsEdit": False, "PermissionsDelete": False,
         "PermissionsViewAllRecords": False, "PermissionsModifyAllRecords": False},
    ]  # fmt: skip
    assert remove.action == "delete" and remove.after == {"records": [{"SobjectType": "Case"}]}
    good = {PS: {"Order": ["read", "edit"], "Contact": ["read", "create"]}}
    assert verify_change(a.held, r.changes, good) == []
    bad = {PS: {"Order": ["read", "edit"], "Case": ["read"]}}
    assert verify_change(a.held, r.changes, bad) == [
        "Case: the org holds read, the approved change says nothing",
        "Contact: the org holds nothing, the approved change says read, create",
    ]
