"""Field permissions: the fields the logs show read and written, or, where the logs list no
fields, the object-level fallback of ``PlanSettings.field_fallback``.

What the logs can show (reference §0.4, §3): query text (the API file's QUERY, ApiEvent)
lists the fields a query reads; ApiTotalUsage and RestApi list none, a retrieve returns
every field, and no event log records what a write sets. So, per object:

* reads are "observed" when the org's logs carry field lists and this object's queries
  were seen with theirs (and no retrieve, which reads every field);
* writes are "observed" only when some source lists written fields;
* otherwise "object_level": every field the human could read (and, when the integration
  writes the object, edit) there, justified by the object's calls, and said so in the plan;
  with ``field_fallback="none"``, "not_planned": no field permission at all.

Fields without field-level security (Id, Name, audit fields, required fields: not in
``permissionable_fields``) never get a row; the plan lists those seen as always accessible.
Edit needs Read on the same field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models import (
    FieldCoverage,
    FieldEvidence,
    FieldPermission,
    FieldSource,
    Justification,
    OperationEvidence,
    PlanInputs,
)
from ..settings import PlanSettings
from .grants import READ_OPERATIONS, WRITE_OPERATIONS
from .observed import Names, observed, split_field

_OBJECT_LEVEL = "the logs list no fields for these calls"


@dataclass
class FieldGrants:
    grants: dict[str, dict[str, list[Justification]]] = field(default_factory=dict)
    coverage: list[FieldCoverage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, path: str, access: str, why: Justification) -> None:
        reasons = self.grants.setdefault(path, {}).setdefault(access, [])
        if why not in reasons:
            reasons.append(why)

    def permissions(self) -> list[FieldPermission]:
        return [
            FieldPermission(field=path, read="read" in acc, edit="edit" in acc)
            for path, acc in sorted(self.grants.items())
        ]


def _macro_fields(macro: str, permissionable: list[str]) -> list[str]:
    kind = macro[len("FIELDS(") : -1]
    if kind == "CUSTOM":
        return [f for f in permissionable if f.endswith("__c")]
    if kind == "STANDARD":
        return [f for f in permissionable if not f.endswith("__c")]
    return list(permissionable)


def derive_fields(
    inputs: PlanInputs,
    names: Names,
    operations: list[OperationEvidence],
    field_usage: list[FieldEvidence],
    planned: set[str],
    settings: PlanSettings,
) -> FieldGrants:
    """Field grants for the ``planned`` objects (granted, not blocked)."""
    out = FieldGrants()
    by_object: dict[str, list[FieldEvidence]] = {}
    for fe in field_usage:
        by_object.setdefault(split_field(fe.field)[0], []).append(fe)
    fallback: FieldSource = "object_level" if settings.field_fallback == "object" else "not_planned"
    for obj in sorted(set(by_object) - planned):
        out.notes.append(
            f"Fields of {obj} appear in the logs, but no call on {obj} is in the plan: they "
            "are not granted."
        )
    for obj in sorted(planned):
        ops = [op for op in operations if op.object == obj]
        reads = [op for op in ops if op.operation in READ_OPERATIONS]
        writes = [op for op in ops if op.operation in WRITE_OPERATIONS]
        evidence = by_object.get(obj, [])
        read_ev = [fe for fe in evidence if fe.access == "read"]
        edit_ev = [fe for fe in evidence if fe.access == "edit"]
        read_src: FieldSource = "not_needed"
        if reads:
            listed = inputs.field_evidence_available and read_ev
            retrieves = any(op.operation == "retrieve" for op in reads)
            read_src = "observed" if listed and not retrieves else fallback
        write_src: FieldSource = "not_needed"
        if writes:
            write_src = "observed" if edit_ev else fallback
        if not names.described(obj) and {read_src, write_src} & {"observed", "object_level"}:
            out.notes.append(
                f"{obj} was not described, so which of its fields carry field-level security "
                f"is unknown: no field permission is planned on {obj}, and only its fields "
                "without field-level security will be usable. Describe it and plan again."
            )
            read_src = "not_planned" if read_src != "not_needed" else read_src
            write_src = "not_planned" if write_src != "not_needed" else write_src
        always = _plan_object(
            out, inputs, names, obj, read_src, write_src, reads, writes, read_ev, edit_ev
        )
        if ops:
            sources = sorted({src for fe in read_ev for src in fe.sources})
            out.coverage.append(
                FieldCoverage(
                    object=obj,
                    reads=read_src,
                    writes=write_src,
                    always_accessible=always,
                    read_sources=sources if read_src == "observed" else [],
                )
            )
        if "not_planned" in (read_src, write_src) and names.described(obj):
            out.notes.append(
                f"{obj}: the logs list no fields for its calls and the field fallback is off: "
                "no field permission is planned, so only fields without field-level security "
                "will be usable."
            )
    # Edit needs Read on the same field (FieldPermissions rule).
    for path, acc in sorted(out.grants.items()):
        if "edit" in acc:
            out.add(path, "read", Justification(kind="dependency", required_by=f"Edit {path}"))
    return out


def _plan_object(
    out: FieldGrants,
    inputs: PlanInputs,
    names: Names,
    obj: str,
    read_src: FieldSource,
    write_src: FieldSource,
    reads: list[OperationEvidence],
    writes: list[OperationEvidence],
    read_ev: list[FieldEvidence],
    edit_ev: list[FieldEvidence],
) -> list[str]:
    """Grant one object's fields; returns the always-accessible fields seen."""
    permissionable = names.permissionable(obj)
    lower = {f.lower() for f in permissionable}
    readonly = names.readonly(obj)
    human = inputs.human
    always: set[str] = set()
    relationship: list[str] = []
    if read_src == "observed":
        for fe in read_ev:
            name = split_field(fe.field)[1]
            if name.startswith("FIELDS("):
                for f in _macro_fields(name, permissionable):
                    # Salesforce answers FIELDS() with the fields the caller can see.
                    if human.field_access(obj, f).read:
                        out.add(f"{obj}.{f}", "read", observed(fe, "read", f"{name} in the query"))
            elif "." in name:
                relationship.append(name)
            elif name.lower() in lower:
                out.add(f"{obj}.{name}", "read", observed(fe, "read"))
            else:
                always.add(name)
    elif read_src == "object_level":
        for f in permissionable:
            if human.field_access(obj, f).read:
                for op in reads:
                    out.add(f"{obj}.{f}", "read", _object_level(op))
    if write_src == "observed":
        for fe in edit_ev:
            name = split_field(fe.field)[1]
            if name.lower() in readonly:
                out.notes.append(
                    f"{obj}.{name} is read-only (formula or auto-number): not editable."
                )
            elif name.lower() in lower:
                out.add(f"{obj}.{name}", "edit", observed(fe, "edit"))
            elif "." not in name:
                always.add(name)
    elif write_src == "object_level":
        for f in permissionable:
            if f.lower() not in readonly and human.field_access(obj, f).edit:
                for op in writes:
                    out.add(f"{obj}.{f}", "edit", _object_level(op))
    if relationship:
        out.notes.append(
            f"Queries on {obj} read through relationships ({', '.join(sorted(relationship))}): "
            "those fields belong to the related objects and are not planned here; if the "
            "integration needs them, its calls on those objects must show it."
        )
    return sorted(always)


def _object_level(op: OperationEvidence) -> Justification:
    return Justification(
        kind="object_level",
        operation=op.operation,
        count=op.count,
        first_seen=op.first_seen,
        last_seen=op.last_seen,
        example=op.example,
        detail=_OBJECT_LEVEL,
    )
