"""The observed evidence, made canonical: one spelling per object and field, one row per
(object, operation) and per (field, access), in a fixed order.

Salesforce matches names case-insensitively and the logs spell them as the caller typed
them ("account", "ACCOUNT"); merging by canonical name keeps one integration from looking
like several, and a fixed order is what makes the plan's hash depend on content only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ..models import FieldEvidence, Justification, OperationEvidence, PlanInputs


class Names:
    """Canonical spellings: describe first, then the grantable list, the human's access and
    master-detail pairs; names seen only in the evidence keep their (smallest) spelling."""

    def __init__(self, inputs: PlanInputs) -> None:
        self._objects: dict[str, str] = {}
        self._fields: dict[str, dict[str, str]] = {}
        self._permissionable: dict[str, list[str]] = {}
        self._readonly: dict[str, set[str]] = {}
        known: list[Iterable[str]] = [
            inputs.permissionable_fields,
            inputs.readonly_fields,
            sorted(inputs.grantable_objects or ()),
            sorted(inputs.public_objects),
            inputs.human.objects,
            sorted(
                {*inputs.master_detail, *(m for ms in inputs.master_detail.values() for m in ms)}
            ),
            sorted({op.object for op in inputs.operations}),
            sorted({fe.field.partition(".")[0] for fe in inputs.fields}),
        ]
        for names in known:
            for name in names:
                self._objects.setdefault(name.lower(), name)
        for source in (inputs.permissionable_fields, inputs.readonly_fields):
            for obj, fields in source.items():
                by_lower = self._fields.setdefault(self.obj(obj).lower(), {})
                for f in fields:
                    by_lower.setdefault(f.lower(), f)
        for obj, fields in inputs.permissionable_fields.items():
            listed = self._permissionable.setdefault(obj.lower(), [])
            listed.extend(f for f in fields if f not in listed)
        for obj, fields in inputs.readonly_fields.items():
            self._readonly.setdefault(obj.lower(), set()).update(f.lower() for f in fields)

    def obj(self, name: str) -> str:
        return self._objects.get(name.lower(), name)

    def field(self, obj: str, name: str) -> str:
        return self._fields.get(obj.lower(), {}).get(name.lower(), name)

    def described(self, obj: str) -> bool:
        return obj.lower() in self._permissionable

    def permissionable(self, obj: str) -> list[str]:
        """The object's fields that carry field-level security, canonically spelt, sorted."""
        return sorted({self.field(obj, f) for f in self._permissionable.get(obj.lower(), [])})

    def readonly(self, obj: str) -> set[str]:
        """Lower-case names of permissionable fields that take only Read."""
        return self._readonly.get(obj.lower(), set())


def _example(rows: list[tuple[int, str]]) -> str:
    """The example of the busiest row (ties: the first in text order), never an empty one
    when another exists."""
    ranked = sorted(rows, key=lambda r: (r[1] == "", -r[0], r[1]))
    return ranked[0][1] if ranked else ""


def merge_operations(inputs: PlanInputs, names: Names) -> list[OperationEvidence]:
    """One row per (object, operation), sorted by object then operation."""
    groups: dict[tuple[str, str], list[OperationEvidence]] = {}
    for op in inputs.operations:
        groups.setdefault((names.obj(op.object), op.operation), []).append(op)
    return [
        OperationEvidence(
            object=obj,
            operation=rows[0].operation,
            count=sum(r.count for r in rows),
            first_seen=min(r.first_seen for r in rows),
            last_seen=max(r.last_seen for r in rows),
            example=_example([(r.count, r.example) for r in rows]),
            all_records=any(r.all_records for r in rows),
        )
        for (obj, _), rows in sorted(groups.items())
    ]


def split_field(path: str) -> tuple[str, str]:
    """("Account", "Owner.Email") from "Account.Owner.Email"."""
    obj, _, rest = path.partition(".")
    return obj, rest


def merge_fields(inputs: PlanInputs, names: Names) -> list[FieldEvidence]:
    """One row per (field, access), fields spelt canonically, sorted."""
    groups: dict[tuple[str, str], list[FieldEvidence]] = {}
    for fe in inputs.fields:
        obj, rest = split_field(fe.field)
        obj = names.obj(obj)
        name = rest if "." in rest or "(" in rest else names.field(obj, rest)
        if "(" in name:  # FIELDS(ALL) and friends, spelt one way
            name = "".join(name.split()).upper()
        groups.setdefault((f"{obj}.{name}", fe.access), []).append(fe)
    return [
        FieldEvidence(
            field=path,
            access=rows[0].access,
            count=sum(r.count for r in rows),
            first_seen=min(r.first_seen for r in rows),
            last_seen=max(r.last_seen for r in rows),
            example=_example([(r.count, r.example) for r in rows]),
            sources=sorted({src for r in rows for src in r.sources}),
        )
        for (path, _), rows in sorted(groups.items())
    ]


def observed(
    ev: OperationEvidence | FieldEvidence, operation: str, detail: str = ""
) -> Justification:
    return Justification(
        kind="observed",
        operation=operation,
        count=ev.count,
        first_seen=ev.first_seen,
        last_seen=ev.last_seen,
        example=ev.example,
        detail=detail,
    )


def summary(
    justifications: Iterable[Justification],
) -> tuple[int, datetime | None, datetime | None, str]:
    """(calls, first seen, last seen, example) over the justifications that carry calls."""
    rows = [j for j in justifications if j.kind != "dependency" and j.count]
    if not rows:
        return 0, None, None, ""
    firsts = [j.first_seen for j in rows if j.first_seen is not None]
    lasts = [j.last_seen for j in rows if j.last_seen is not None]
    return (
        sum(j.count for j in rows),
        min(firsts) if firsts else None,
        max(lasts) if lasts else None,
        _example([(j.count, j.example) for j in rows]),
    )
