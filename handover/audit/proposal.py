"""What a dedicated Integration User holds against what it used (pure): the audit's
judgement, and the proposal made of it.

* A grant unused for the whole window is proposed for removal only when the evidence is
  enough by the planner's own rules (``planning.cadence``: days observed, no unreported
  gaps, at least two cycles of the integration's cadence). Otherwise nothing is removed
  and the reasons say what is missing: a smaller grant from too little history breaks the
  integration the day it does its monthly job.
* A call the user made and was denied (the event logs' status for it: 403
  INSUFFICIENT_ACCESS_OR_READONLY, 404 NOT_FOUND for an object it cannot see, 400
  INVALID_FIELD / INVALID_TYPE, a SOAP fault) is proposed as an addition of exactly the
  flags that operation needs, never View All or Modify All, and never on the profile.
  The approver accepts exactly what the proposal lists (the gate binds its hash).
* System permissions and broad grants are flagged with their risk, never changed here.

Only permission sets the user holds beyond its profile are changed: a profile's own set is
shared with every user of the profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

from ..models.audit import Change, Flag, HeldObject, Risk, Usage, UserAudit
from ..planning.canonical import content_hash
from ..planning.grants import FLAG_LABEL, FLAGS

# What an operation needs (reference §3: Create / Edit need Read, Delete needs Edit).
NEEDS: dict[str, tuple[Flag, ...]] = {
    "query": ("read",),
    "retrieve": ("read",),
    "create": ("read", "create"),
    "update": ("read", "edit"),
    "upsert": ("read", "create", "edit"),
    "delete": ("read", "edit", "delete"),
}
# The planner's order and words for the six object flags.
FLAG_ORDER = cast(tuple[Flag, ...], FLAGS)
LABEL = FLAG_LABEL
DENIED = {
    "403": "INSUFFICIENT_ACCESS_OR_READONLY",
    "404": "NOT_FOUND (an object the user cannot see)",
    "400": "INVALID_FIELD or INVALID_TYPE",
    "500": "a SOAP fault",
    "failure": "a failure",
}
SYSTEM_RISKS = {
    "ModifyAllData": ("high", "reads, changes and deletes every record of every object"),
    "ViewAllData": ("high", "reads every record of every object"),
    "ManageUsers": ("high", "creates users and changes anyone's access"),
    "CustomizeApplication": ("medium", "changes the org's configuration and connected apps"),
    "AuthorApex": ("high", "runs code as anyone"),
}


def is_denied(status: str) -> bool:
    """A status that says the user may not: HTTP 4xx but 429 (limits), or a SOAP fault."""
    if status in ("failure", "500"):
        return True
    return status.isdigit() and 400 <= int(status) < 500 and status != "429"


def used_flags(used: Iterable[Usage]) -> dict[str, set[Flag]]:
    """Object (folded) -> the flags its successful calls needed."""
    out: dict[str, set[Flag]] = {}
    for u in used:
        out.setdefault(u.object.casefold(), set()).update(NEEDS.get(u.operation, ()))
    return out


def _ordered(flags: Iterable[Flag]) -> list[Flag]:
    wanted = set(flags)
    return [f for f in FLAG_ORDER if f in wanted]


def removals(held: Sequence[HeldObject], used: Iterable[Usage], window: str) -> list[Change]:
    needed = used_flags(used)
    out = []
    for h in held:
        if h.owned_by_profile:
            continue
        unused = [f for f in h.flags if f not in needed.get(h.object.casefold(), set())]
        if unused:
            out.append(
                Change(
                    kind="remove",
                    permission_set_id=h.permission_set_id,
                    permission_set=h.permission_set,
                    object=h.object,
                    flags=_ordered(unused),
                    reason=f"no call needed {', '.join(LABEL[f] for f in unused)} on "
                    f"{h.object} over {window}",
                )
            )
    return out


def additions(held: Sequence[HeldObject], denied: Iterable[Usage]) -> list[Change]:
    """The flags each denied operation needs that the user's own permission set lacks;
    added to that set (the first one it holds beyond its profile)."""
    own = [h for h in held if not h.owned_by_profile]
    if not own:
        return []
    target = own[0]
    have: dict[str, set[Flag]] = {}
    for h in held:
        have.setdefault(h.object.casefold(), set()).update(h.flags)
    wanted: dict[str, tuple[str, set[Flag], list[Usage]]] = {}
    for d in denied:
        flags = set(NEEDS.get(d.operation, ())) - have.get(d.object.casefold(), set())
        if not flags:
            continue  # held already: the denial is about a field or a record, not the object
        name, acc, why = wanted.setdefault(d.object.casefold(), (d.object, set(), []))
        acc.update(flags)
        why.append(d)
    out = []
    for _, (name, flags, why) in sorted(wanted.items()):
        calls = ", ".join(
            f"{u.calls:,} {u.operation} calls denied ({DENIED.get(u.status, u.status)})"
            for u in why
        )
        out.append(
            Change(
                kind="add",
                permission_set_id=target.permission_set_id,
                permission_set=target.permission_set,
                object=name,
                flags=_ordered(flags),
                reason=calls,
            )
        )
    return out


def risks(held: Sequence[HeldObject], system: dict[str, str]) -> list[Risk]:
    """Broad grants with their risk: system permissions (``system``: name -> where), View
    All / Modify All on an object, API Enabled given by a shared profile."""
    out = []
    for name, where in sorted(system.items()):
        if name in SYSTEM_RISKS:
            level, why = SYSTEM_RISKS[name]
            out.append(Risk(permission=name, where=where, level=level, reason=why))  # type: ignore[arg-type]
        elif name == "ApiEnabled" and where.startswith("profile "):
            out.append(
                Risk(
                    permission="API Enabled",
                    where=where,
                    level="medium",
                    reason="granted by a profile every user of it shares, not by the "
                    "integration's own permission set",
                )
            )
    for h in held:
        for f in ("view_all", "modify_all"):
            if f in h.flags:
                out.append(
                    Risk(
                        permission=f"{LABEL[f]} on {h.object}",
                        where=h.permission_set,
                        level="high" if f == "modify_all" else "medium",
                        reason="every record of the object, whoever owns it, whatever sharing says",
                    )
                )
    return out


def review(
    audit: UserAudit, *, insufficient: Sequence[str], system: dict[str, str], window: str
) -> UserAudit:
    """``audit`` (holdings and usage read) with its changes, risks and hash."""
    changes = additions(audit.held, audit.denied)
    not_judged = list(insufficient)
    if not insufficient:
        changes = removals(audit.held, audit.used, window) + changes
    reviewed = audit.model_copy(
        update={
            "changes": changes,
            "risks": risks(audit.held, system),
            "not_judged": not_judged,
            "evidence": window,
        }
    )
    return reviewed.model_copy(update={"hash": proposal_hash(reviewed)})


def proposal_hash(audit: UserAudit) -> str:
    """What an approval binds to: who, which changes, and the evidence they rest on."""
    return content_hash(
        {
            "user_id": audit.user_id,
            "changes": [c.model_dump(mode="json") for c in audit.changes],
            "evidence": audit.evidence,
        }
    )


def after_change(
    held: Sequence[HeldObject], changes: Sequence[Change]
) -> dict[str, dict[str, list[Flag]]]:
    """Permission set id -> object -> the flags it holds once ``changes`` are applied
    (the objects the changes touch; an empty list: the row goes)."""
    now: dict[tuple[str, str], set[Flag]] = {
        (h.permission_set_id, h.object.casefold()): set(h.flags) for h in held
    }
    names: dict[tuple[str, str], str] = {
        (h.permission_set_id, h.object.casefold()): h.object for h in held
    }
    out: dict[str, dict[str, list[Flag]]] = {}
    for c in changes:
        key = (c.permission_set_id, c.object.casefold())
        flags = now.setdefault(key, set())
        names.setdefault(key, c.object)
        flags.difference_update(c.flags) if c.kind == "remove" else flags.update(c.flags)
        # A platform dependency: no Create / Edit / Delete without Read, no Delete without Edit.
        if flags - {"read"}:
            flags.add("read")
        if "delete" in flags:
            flags.add("edit")
        out.setdefault(c.permission_set_id, {})[names[key]] = _ordered(flags)
    return out
