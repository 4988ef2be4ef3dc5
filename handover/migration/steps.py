"""The runbook's order as data: which step follows which, and which gate guards it.

The flow reads this top to bottom; ``status`` uses it to say where a migration stands and
what comes next. Gates that only open in some runs (freeze: only when the account is kept
alive for the integration alone; operator: the credential sink is a person;
inconclusive: verification saw no traffic) say so in ``when``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Gate = Literal[
    "plan", "cutover", "decommission", "freeze", "operator",
    "inconclusive", "inconclusive-2", "inconclusive-3",
]  # fmt: skip
Kind = Literal["gate", "step"]


@dataclass(frozen=True)
class RunbookItem:
    name: str  # a gate's name or a step's name (the ledger's WriteAction.step)
    kind: Kind
    does: str  # what happens, for people
    when: str = ""  # empty: always; otherwise the condition under which it happens
    writes: bool = False  # changes the org or the external system


RUNBOOK: tuple[RunbookItem, ...] = (
    RunbookItem("plan", "gate", "Approve the access plan (its hash) before anything is written."),
    RunbookItem(
        "provision",
        "step",
        "Create the Integration User, its licence, the permission set and the app access.",
        writes=True,
    ),
    RunbookItem("cutover", "gate", "Approve switching the integration to the new user."),
    RunbookItem(
        "cutover",
        "step",
        "Switch the integration: the app's Run-As user, or new credentials to the sink.",
        writes=True,
    ),
    RunbookItem(
        "operator",
        "gate",
        "A person confirms the external system now uses the new credentials.",
        when="the credential sink is 'operator'",
    ),
    RunbookItem(
        "verify",
        "step",
        "Compare the new user's access and traffic with the plan; roll back on failure.",
    ),
    RunbookItem(
        "inconclusive",
        "gate",
        "Verification saw no traffic: extend the window, roll back, or accept.",
        when="verification is inconclusive",
    ),
    RunbookItem(
        "decommission",
        "gate",
        "Approve revoking the human's tokens and app access (a second approver).",
    ),
    RunbookItem(
        "decommission",
        "step",
        "Revoke the human's tokens for the app; remove app access granted for it alone.",
        writes=True,
    ),
    RunbookItem(
        "freeze",
        "gate",
        "Approve freezing the human's account.",
        when="the account is kept alive for the integration alone",
    ),
    RunbookItem(
        "freeze",
        "step",
        "Freeze the human's account (reversible: unfreeze).",
        when="the freeze gate was approved",
        writes=True,
    ),
)

GATES: tuple[str, ...] = tuple(i.name for i in RUNBOOK if i.kind == "gate")
# "Extend" at an inconclusive gate judges a longer window and, still without traffic, asks
# again at the next of these gates (each decided once, like any gate); the last one
# offers accept or roll back only.
MAX_EXTENSIONS = 2
EXTENDED_GATES: tuple[str, ...] = tuple(f"inconclusive-{n}" for n in range(2, MAX_EXTENSIONS + 2))
GATE_NAMES: tuple[str, ...] = GATES + EXTENDED_GATES
STEPS: tuple[str, ...] = tuple(i.name for i in RUNBOOK if i.kind == "step")
# Steps whose writes a failed verification undoes (later ones happen after it passed).
ROLLED_BACK_ON_FAILURE = ("provision", "cutover")


def inconclusive_gate(extensions: int) -> str:
    """The gate asked after ``extensions`` extensions of the verification window."""
    if not 0 <= extensions <= MAX_EXTENSIONS:
        raise ValueError(f"a window is extended at most {MAX_EXTENSIONS} times, not {extensions}")
    return "inconclusive" if extensions == 0 else f"inconclusive-{extensions + 1}"


def extensions_before(gate: str) -> int:
    """How many extensions came before the inconclusive ``gate`` (0 for "inconclusive")."""
    return 0 if gate == "inconclusive" else int(gate.rsplit("-", 1)[1]) - 1


def may_extend(gate: str) -> bool:
    return gate_kind(gate) == "inconclusive" and extensions_before(gate) < MAX_EXTENSIONS


def gate_kind(gate: str) -> str:
    """The runbook's name for a gate: "inconclusive-2" is an "inconclusive" gate."""
    return "inconclusive" if gate in EXTENDED_GATES else gate


def position(name: str, kind: Kind) -> int:
    """Where a gate or step sits in the runbook (ValueError for an unknown one)."""
    if kind == "gate":
        name = gate_kind(name)
    for i, item in enumerate(RUNBOOK):
        if item.name == name and item.kind == kind:
            return i
    raise ValueError(f"no {kind} {name!r} in the runbook; known: {', '.join(GATES + STEPS)}")


def gate_before(step: str) -> str | None:
    """The gate that must be approved before ``step`` runs (None: no gate of its own)."""
    i = position(step, "step")
    prev = RUNBOOK[i - 1] if i else None
    return prev.name if prev is not None and prev.kind == "gate" else None


def next_item(name: str, kind: Kind) -> RunbookItem | None:
    """What follows ``name`` in the runbook (conditional items included: see ``when``)."""
    i = position(name, kind)
    return RUNBOOK[i + 1] if i + 1 < len(RUNBOOK) else None
