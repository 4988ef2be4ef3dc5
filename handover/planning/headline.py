"""The one line that leads every rendering of a plan: what the human had, what the
integration needs ("the human had System Administrator: Modify All Data, 412 objects; the
integration needs Read on Account and Product2, Create / Edit on Order and OrderItem")."""

from __future__ import annotations

import re

from ..models import Blocker, HumanSummary, ObjectPermission
from .grants import FLAG_LABEL, FLAGS
from .kinds import UNKNOWN

_SPECIAL = {"ApiEnabled": "API Enabled", "ApiUserOnly": "API Only User"}
_POWERFUL = ("ModifyAllData", "ViewAllData")


def permission_words(name: str) -> str:
    """ "ModifyAllData" -> "Modify All Data"."""
    return _SPECIAL.get(name) or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def human_side(h: HumanSummary) -> str:
    who = h.name or h.username
    # View All Data goes without saying next to Modify All Data.
    shown = (
        ["ModifyAllData"]
        if h.modify_all_data
        else [p for p in _POWERFUL if p in h.system_permissions]
    )
    powers = [permission_words(p) for p in shown]
    extra = len(h.permission_sets) + len(h.permission_set_groups)
    access = h.profile or "an unknown profile"
    if extra:
        access += f" + {extra} permission set{'s' if extra != 1 else ''}"
    if h.reachable_objects:  # 0: the caller did not count them
        powers.append(f"{h.reachable_objects:,} object{'s' if h.reachable_objects != 1 else ''}")
    return f"{who} had {access}" + (f": {', '.join(powers)}" if powers else "")


def needs(objects: list[ObjectPermission]) -> str:
    """Objects grouped by what they need; Read is implied wherever more is granted."""
    groups: dict[str, list[str]] = {}
    for op in sorted(objects, key=lambda o: o.object):
        flags = [FLAG_LABEL[f] for f in FLAGS if getattr(op, f)]
        shown = [f for f in flags if f != "Read"] or flags
        groups.setdefault(" / ".join(shown), []).append(op.object)
    order = sorted(groups, key=lambda k: (k.count("/"), k != "Read", k))
    return "; ".join(f"{k} on {_and(groups[k])}" for k in order) or "no object access"


def headline(human: HumanSummary, objects: list[ObjectPermission], blockers: list[Blocker]) -> str:
    line = f"{human_side(human)}; the integration needs {needs(objects)}"
    ungrantable = sorted({b.object for b in blockers if b.permissions != [UNKNOWN]})
    unknown = sorted({b.object for b in blockers if b.permissions == [UNKNOWN]})
    why = [f"{_and(ungrantable)} cannot be granted as observed"] if ungrantable else []
    why += [f"what it does on {_and(unknown)} is not known"] if unknown else []
    if why:
        line += "; blocked: " + " and ".join(why)
    return line


def refusal_headline(app_name: str, username: str, insufficient: bool) -> str:
    what = "Not enough evidence yet" if insufficient else "No plan"
    return f"{what} to move {app_name} off {username}"
