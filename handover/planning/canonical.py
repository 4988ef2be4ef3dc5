"""The plan as JSON, and its content hash.

The hash is what an approval binds to: sha256 over the canonical JSON of the plan (keys
sorted, no insignificant whitespace, UTF-8), leaving out the hash itself and the headline.
The headline is wording for people, rebuilt from the content; leaving it out keeps a
wording change in a new release from changing the hash of an unchanged plan. Nothing in a
plan records when it was built, so the same inputs give the same hash. A field added to
plans later (``cutover``) is left out while it is absent, so plans saved before it keep
their hash.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..models import AccessPlan, PlanRefusal

NOT_HASHED = frozenset({"hash", "headline"})
# Fields later releases added to plans: hashed only when present.
HASHED_WHEN_SET = frozenset({"cutover"})


def canonical_json(content: dict[str, Any]) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(content: dict[str, Any]) -> str:
    hashed = {
        k: v
        for k, v in content.items()
        if k not in NOT_HASHED and not (k in HASHED_WHEN_SET and v is None)
    }
    return hashlib.sha256(canonical_json(hashed).encode()).hexdigest()


def plan_hash(plan: AccessPlan) -> str:
    """The hash ``plan`` should carry: compare with ``plan.hash`` before applying it."""
    return content_hash(plan.model_dump(mode="json"))


def plan_json(plan: AccessPlan | PlanRefusal) -> dict[str, Any]:
    """The CLI / artifact shape: ``status``, ``user``, ``permission_set`` (with
    ``object_permissions`` [{object, read, create, edit, delete, ...}] and
    ``field_permissions`` [{field, read, edit}]), ``blockers``, ``evidence_window``, ``hash``
    and the rest of the plan; for a refusal, ``status`` and ``reasons``."""
    return plan.model_dump(mode="json")
