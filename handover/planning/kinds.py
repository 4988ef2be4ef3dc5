"""Operations of unknown kind: successful calls on a data object that no permission can be
planned from, because the logs do not say what they did (a Bulk API job whose operation or
object no ingested log names) or handover cannot tell what they need (undelete, search on
an object, ...). Each one blocks the plan: planned without them, the new user would lack
what the integration does and break it at cutover, which is worse than no plan.

The evidence (handover/usage/evidence.py) hands them over as ``other_operations`` keys,
"Object.operation" or, with no object, "operation". Calls on no object that need no object
permission ("search", "apex") are not of unknown kind: the plan names them in its notes.
"""

from __future__ import annotations

from typing import get_args

from ..models import Blocker, PlanOperation
from .observed import Names

KNOWN_KINDS = frozenset(get_args(PlanOperation))
UNKNOWN_BULK = "bulk"  # what the store calls a Bulk API job whose operation no log says
UNKNOWN = "unknown"  # the permissions of a blocker of unknown kind
NO_OBJECT = "(object not logged)"

_BULK_WHY = (
    "ApiTotalUsage records Bulk API requests but not the operation of their job; "
    "Event Monitoring's BulkApi and BulkApi2 logs name it, but no app, so their jobs count "
    "for this integration only on days when it was its user's only app running Bulk jobs."
)
_BULK_ACTION = (
    "Ingest Event Monitoring's BulkApi log (Bulk API 1.0) and BulkApi2 log (Bulk API 2.0) for "
    "these days and run discovery and the plan again; or have the integration's owner list "
    "the operations its jobs run on each object, as a declared operation list confirmed by "
    "an approver. Until then no plan can be approved: one without these operations would "
    "break the integration."
)
_OTHER_ACTION = (
    "Find out which permissions these calls need and have them added as a declared "
    "operation list confirmed by an approver, or change the integration so it no longer "
    "makes them. Until then no plan can be approved: one without them would break the "
    "integration."
)


def split_key(key: str) -> tuple[str, str]:
    """("Account", "bulk") from "Account.bulk"; ("", "search") from "search"."""
    obj, dot, operation = key.rpartition(".")
    return (obj, operation) if dot else ("", key)


def is_unknown_kind(key: str) -> bool:
    """Whether an ``other_operations`` key is an operation of unknown kind on a data
    object: a Bulk job no log names the operation (or object) of, or any operation on a
    named object that is not query, retrieve, create, update, upsert or delete."""
    obj, operation = split_key(key)
    return operation == UNKNOWN_BULK or (bool(obj) and operation not in KNOWN_KINDS)


def unknown_operations(other: dict[str, int]) -> dict[str, int]:
    """The keys of ``other`` that are of unknown kind, with their calls."""
    return {k: n for k, n in sorted(other.items()) if is_unknown_kind(k)}


def unknown_kind_blockers(other: dict[str, int], names: Names) -> list[Blocker]:
    """One blocker per (object, operation) of unknown kind: what is missing, how to get it."""
    out = []
    for key, calls in unknown_operations(other).items():
        obj, operation = split_key(key)
        where = f"on {names.obj(obj)}" if obj else "on an object no log names"
        if operation == UNKNOWN_BULK:
            reason = (
                f"{calls:,} successful Bulk API calls {where} ran jobs whose operation (query, "
                f"insert, update, upsert or delete) the ingested logs do not say. {_BULK_WHY}"
            )
            action = _BULK_ACTION
        else:
            what = "requests handover does not recognise (a composite request, ...)"
            calls_of = what if operation == "other" else f"{operation} calls"
            reason = (
                f"{calls:,} successful {calls_of} {where}: handover cannot tell which "
                "permissions they need, so none can be planned for them."
            )
            action = _OTHER_ACTION
        out.append(
            Blocker(
                object=names.obj(obj) if obj else NO_OBJECT,
                permissions=[UNKNOWN],
                reason=reason,
                action=action,
                count=calls,
            )
        )
    return out
