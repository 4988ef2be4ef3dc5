"""The planner's inputs, put together from what the usage store and the org said (pure).

The tasks read (tasks/plan.py); this only assembles, so a test can build the same inputs
from hand-made pieces and the flow stays a sequence of steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..models import (
    CutoverSpec,
    FieldEvidence,
    Finding,
    HumanAccess,
    OperationEvidence,
    PlanInputs,
    RouteChoice,
)


@dataclass(frozen=True)
class StoreEvidence:
    """What the usage store holds for one finding, over its (clipped) window."""

    start: date
    end: date
    operations: list[OperationEvidence]
    fields: list[FieldEvidence]
    field_evidence_available: bool
    days_observed: list[date]
    gap_days: list[date]
    unrecorded_days: list[date]
    calls_by_day: dict[date, int]
    # Successful calls no object permission is planned from ("search", "Account.undelete").
    other_operations: dict[str, int] = field(default_factory=dict)

    def objects(self) -> list[str]:
        """Objects the evidence names (to describe), one spelling per object."""
        names = {op.object for op in self.operations}
        names |= {fe.field.partition(".")[0] for fe in self.fields}
        by_lower = {n.lower(): n for n in sorted(names, reverse=True)}
        return sorted(by_lower.values())


@dataclass(frozen=True)
class OrgFacts:
    """What the org says about the objects of a plan and the app (read-only calls)."""

    permissionable_fields: dict[str, list[str]]
    readonly_fields: dict[str, list[str]]
    master_detail: dict[str, list[str]]
    grantable_objects: frozenset[str] | None
    public_objects: frozenset[str]
    connected_app_id: str | None = None
    connected_app_name: str | None = None
    notes: list[str] = field(default_factory=list)  # how these were judged, for the plan


def grantability_note(non_grantable: list[str]) -> str:
    """What the plan says about how grantable objects were told (no API lists them)."""
    excluded = ", ".join(non_grantable) or "none"
    return (
        "Which objects the Integration licence can carry is not published by Salesforce: it "
        "was taken as the org's permissionable data objects minus "
        f"HANDOVER_PLAN__NON_GRANTABLE_OBJECTS ({excluded}), a list that is unverified. If "
        "provisioning refuses an object, add it to that list and plan again: it becomes a "
        "blocker."
    )


def plan_inputs(
    finding: Finding,
    evidence: StoreEvidence,
    human: HumanAccess,
    org: OrgFacts,
    cutover: CutoverSpec | None = None,
    route: RouteChoice | None = None,
) -> PlanInputs:
    return PlanInputs(
        finding=finding,
        operations=evidence.operations,
        fields=evidence.fields,
        field_evidence_available=evidence.field_evidence_available,
        human=human,
        grantable_objects=org.grantable_objects,
        public_objects=org.public_objects,
        permissionable_fields=org.permissionable_fields,
        readonly_fields=org.readonly_fields,
        master_detail=org.master_detail,
        window_start=evidence.start,
        window_end=evidence.end,
        days_observed=len(evidence.days_observed),
        gap_days=evidence.gap_days,
        unrecorded_days=evidence.unrecorded_days,
        calls_by_day=evidence.calls_by_day,
        other_operations=evidence.other_operations,
        notes=org.notes,
        connected_app_id=org.connected_app_id,
        connected_app_name=org.connected_app_name,
        cutover=cutover,
        route=route,
    )
