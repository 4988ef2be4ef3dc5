"""Applying write actions safely: claim -> probe -> record prior -> write -> done, over two
injected ports (the ledger and the org), so a crash or a lost response at any point re-runs
to the same end state without a duplicate.

For each action: a done entry is skipped. Otherwise the org is probed for the record at
the action's key. If the write is already there (a crash after the write, a lost
response) the entry is marked done. Otherwise the entry is **claimed** with the prior
state, *before* the write, then written and marked done with the record ids. A failed
write marks the entry failed (with the error's message, never a secret) and raises. The
prior state of the first claim is kept: a re-run's probe never replaces it.

A record found before this migration wrote anything is taken over only when the action
allows it (``adopt``/``adopt_if``); otherwise WriteConflict, and nothing is written.
Dry run: everything up to the write, the ledger row gets status ``dry_run``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from ..errors import HandoverError, MigrationError, WriteConflict
from ..models.migration import (
    SECRET_PLACEHOLDER,
    LedgerEntry,
    Observed,
    StepPreview,
    WriteAction,
    ref_key,
)

Clock = Callable[[], datetime]


class LedgerPort(Protocol):
    """One migration's ledger: entries by idempotency key, in the order first written."""

    def get(self, key: str) -> LedgerEntry | None: ...

    def put(self, entry: LedgerEntry) -> None: ...

    def entries(self) -> list[LedgerEntry]: ...


class OrgPort(Protocol):
    """Where the writes land (the org, or a credential sink): look, and write."""

    def probe(self, action: WriteAction) -> Observed:
        """The record(s) at the action's key now (state None: nothing there)."""
        ...

    def write(self, action: WriteAction, observed: Observed) -> list[str]:
        """Make the org hold ``action.after`` at its key, given what the probe saw (an
        existing record is updated, not duplicated); returns the ids written."""
        ...


class Router:
    """An OrgPort that sends each action to the port for its object (the credential sink
    for "Credentials", the org for everything else)."""

    def __init__(self, default: OrgPort, by_object: Mapping[str, OrgPort]) -> None:
        self._default = default
        self._by_object = dict(by_object)

    def _port(self, action: WriteAction) -> OrgPort:
        return self._by_object.get(action.object, self._default)

    def probe(self, action: WriteAction) -> Observed:
        return self._port(action).probe(action)

    def write(self, action: WriteAction, observed: Observed) -> list[str]:
        return self._port(action).write(action, observed)


def now_utc() -> datetime:
    return datetime.now(UTC)


def apply_actions(
    actions: Sequence[WriteAction],
    ledger: LedgerPort,
    org: OrgPort,
    *,
    dry_run: bool,
    clock: Clock = now_utc,
) -> list[LedgerEntry]:
    """Apply ``actions`` in order; the ledger entry of each, as it ends. Raises on the
    first failure (the entries before it stay done: a re-run continues from there)."""
    _check_keys(actions)
    resolved: dict[str, str] = {}
    out = []
    for action in actions:
        entry = ledger.get(action.key)
        if entry is not None and entry.status == "rolled_back":
            raise MigrationError(
                f"{action.key} was rolled back: this migration is over. Start a new migration "
                "to try again (a rolled-back user is reactivated, never duplicated)."
            )
        if entry is not None and entry.status == "done":
            if entry.record_id:
                resolved[action.key] = entry.record_id
            out.append(entry)
            continue
        if dry_run:
            out.append(_preview(action, entry, ledger, org, resolved, clock))
        else:
            out.append(_apply_one(action, entry, ledger, org, resolved, clock))
    return out


def previews(entries: Iterable[LedgerEntry]) -> list[StepPreview]:
    return [StepPreview.of(e) for e in entries]


def _check_keys(actions: Sequence[WriteAction]) -> None:
    seen: set[str] = set()
    for a in actions:
        if a.key in seen:
            raise MigrationError(f"two actions share the idempotency key {a.key}")
        seen.add(a.key)


def _apply_one(
    action: WriteAction,
    entry: LedgerEntry | None,
    ledger: LedgerPort,
    org: OrgPort,
    resolved: dict[str, str],
    clock: Clock,
) -> LedgerEntry:
    concrete = resolve(action, resolved, ledger)
    if concrete is None:
        missing = ", ".join(_refs(action))
        raise MigrationError(
            f"{action.key} needs the record written by {missing}, which is not done: run the "
            "migration's steps in order."
        )
    observed = org.probe(concrete)
    ours = entry is not None and entry.ours
    if not ours:
        try:
            check_adoption(concrete, observed)
        except WriteConflict as e:
            ledger.put(_entry(concrete, "failed", observed.state, clock, error=str(e)))
            raise
    if in_place(concrete, observed):
        # Already there: written before a crash or a lost response (ours), or found as the
        # action wants it. The prior state stays the one first recorded.
        before = entry.before if ours and entry is not None else observed.state
        done = _entry(
            concrete,
            "done",
            before,
            clock,
            record_ids=observed.record_ids,
            claimed_at=entry.claimed_at if entry is not None else None,
            attempts=entry.attempts if entry is not None else 0,
        )
        ledger.put(done)
        _remember(concrete, done, resolved)
        return done
    if ours and entry is not None:
        claimed = entry.model_copy(
            update={"status": "claimed", "write": concrete, "updated_at": clock()}
        )
    else:
        claimed = _entry(concrete, "claimed", observed.state, clock, claimed_at=clock())
    ledger.put(claimed)  # the prior state is in the ledger before the org is touched
    attempts = claimed.attempts + 1
    try:
        ids = org.write(concrete, observed)
    except Exception as e:
        ledger.put(
            claimed.model_copy(
                update={
                    "status": "failed",
                    "error": _message(e),
                    "attempts": attempts,
                    "updated_at": clock(),
                }
            )
        )
        raise
    done = claimed.model_copy(
        update={
            "status": "done",
            "record_ids": list(ids) or observed.record_ids,
            "error": None,
            "attempts": attempts,
            "updated_at": clock(),
        }
    )
    ledger.put(done)
    _remember(concrete, done, resolved)
    return done


def _preview(
    action: WriteAction,
    entry: LedgerEntry | None,
    ledger: LedgerPort,
    org: OrgPort,
    resolved: dict[str, str],
    clock: Clock,
) -> LedgerEntry:
    if entry is not None and entry.ours:
        return entry  # a real run's claim is never overwritten by a dry run
    concrete = resolve(action, resolved, ledger)
    if concrete is None:
        # The record it refers to does not exist yet: it would be created first.
        dry = _entry(action, "dry_run", None, clock)
    else:
        observed = org.probe(concrete)
        error = None
        try:
            check_adoption(concrete, observed)
        except WriteConflict as e:
            error = f"would be refused: {e}"
        dry = _entry(concrete, "dry_run", observed.state, clock, error=error)
        dry = dry.model_copy(update={"record_ids": observed.record_ids})
        _remember(concrete, dry, resolved)
    ledger.put(dry)
    return dry


def _remember(action: WriteAction, entry: LedgerEntry, resolved: dict[str, str]) -> None:
    if not action.batch and entry.record_id:
        resolved[action.key] = entry.record_id


def _entry(
    action: WriteAction,
    status: Any,
    before: dict[str, Any] | None,
    clock: Clock,
    *,
    record_ids: list[str] | None = None,
    error: str | None = None,
    claimed_at: datetime | None = None,
    attempts: int = 0,
) -> LedgerEntry:
    return LedgerEntry(
        write=action,
        status=status,
        before=before,
        record_ids=record_ids or [],
        error=error,
        attempts=attempts,
        claimed_at=claimed_at,
        updated_at=clock(),
    )


def _message(e: Exception) -> str:
    # Handover's errors are worded for people and carry no secrets; anything else is a bug,
    # named by its class so the ledger never holds an arbitrary payload.
    return str(e) if isinstance(e, HandoverError) else f"{e.__class__.__name__} (see the run's log)"


# ---------------------------------------------------------------------- references


def _refs(value: Any) -> list[str]:
    if (k := ref_key(value)) is not None:
        return [k]
    if isinstance(value, WriteAction):
        return _refs(value.match) + _refs(value.after)
    if isinstance(value, dict):
        return [k for v in value.values() for k in _refs(v)]
    if isinstance(value, list):
        return [k for v in value for k in _refs(v)]
    return []


def resolve(
    action: WriteAction, resolved: Mapping[str, str], ledger: LedgerPort
) -> WriteAction | None:
    """``action`` with every {"$ref": key} replaced by the id that key's write produced
    (None when one of them has none yet)."""
    ids: dict[str, str] = {}
    for key in _refs(action):
        if key in resolved:
            ids[key] = resolved[key]
            continue
        entry = ledger.get(key)
        if entry is None or entry.status != "done" or not entry.record_id:
            return None
        ids[key] = entry.record_id

    def sub(value: Any) -> Any:
        if (k := ref_key(value)) is not None:
            return ids[k]
        if isinstance(value, dict):
            return {k: sub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [sub(v) for v in value]
        return value

    if not ids:
        return action
    return action.model_copy(update={"match": sub(action.match), "after": sub(action.after)})


# ---------------------------------------------------------------------- judgements


def same(have: Any, want: Any) -> bool:
    """Salesforce keeps usernames lower case and answers 18-character ids: strings
    compare case-insensitively (18-character ids stay distinct that way)."""
    if isinstance(have, str) and isinstance(want, str):
        return have.casefold() == want.casefold()
    return bool(have == want)


def holds(state: Mapping[str, Any] | None, want: Mapping[str, Any]) -> bool:
    """``state`` has every value of ``want`` (secret placeholders can't be compared)."""
    if state is None:
        return False
    return all(same(state.get(k), v) for k, v in want.items() if v != SECRET_PLACEHOLDER)


def _rows_by_key(action: WriteAction, observed: Observed) -> dict[str, Mapping[str, Any]]:
    rk = action.record_key or ""
    rows = (observed.state or {}).get("records") or []
    return {str(r.get(rk) or "").casefold(): r for r in rows}


def doomed_records(action: WriteAction, observed: Observed) -> list[Mapping[str, Any]]:
    """A batch delete's rows the org still holds: those named in ``after["records"]``, or
    (a prune) every row under the parent whose key is not in ``after["keep"]``."""
    rows = _rows_by_key(action, observed)
    if "keep" in action.after:
        keep = {str(k).casefold() for k in action.after["keep"]}
        return [r for k, r in rows.items() if k not in keep]
    rk = action.record_key or ""
    named = {str(r[rk]).casefold() for r in action.records}
    return [r for k, r in rows.items() if k in named]


def missing_records(action: WriteAction, observed: Observed) -> list[dict[str, Any]]:
    """A batch's records the org does not hold as wanted (absent or different)."""
    rows = _rows_by_key(action, observed)
    rk = action.record_key or ""
    return [rec for rec in action.records if not holds(rows.get(str(rec[rk]).casefold()), rec)]


def in_place(action: WriteAction, observed: Observed) -> bool:
    """The org already holds what ``action`` would write."""
    if action.action in ("set_password", "restore"):
        return False  # write-only: nothing to read back
    if action.step == "rollback" and action.action == "update" and not observed.exists:
        return True  # the record a claimed write would have changed never came to be
    if action.action in ("delete", "revoke"):
        return not doomed_records(action, observed) if action.batch else not observed.exists
    if action.batch:
        return not missing_records(action, observed)
    return holds(observed.state, action.after)


def check_adoption(action: WriteAction, observed: Observed) -> None:
    """Refuse to take over a record this migration did not write, unless allowed."""
    if action.action != "create" or action.batch or not observed.exists:
        return
    if not action.adopt:
        raise WriteConflict(
            f"{action.object} {action.target} already exists in the org and was not created "
            f"by this migration. Rename or delete it (after checking who uses it), then re-run."
        )
    if not holds(observed.state, action.adopt_if):
        differs = ", ".join(
            f"{k} is {(observed.state or {}).get(k)!r}, not {v!r}"
            for k, v in action.adopt_if.items()
            if not same((observed.state or {}).get(k), v)
        )
        raise WriteConflict(
            f"{action.object} {action.target} already exists and is not one this migration "
            f"may reuse ({differs}). Choose another name in the plan settings and plan again."
        )
