"""Approval tokens bind a decision to one migration, gate, plan and set of approvers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from handover.slack.tokens import GateInput, decided_at_text, sign, verify, verify_input

KEY = b"k" * 32
AT = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
FIELDS: dict[str, Any] = {
    "migration_id": "m-0123456789ab",
    "gate": "cutover",
    "plan_hash": "ab" * 32,
    "decision": "approve",
    "approvers": ["U0LOOMIS01"],
    "decided_at": AT,
}


def test_a_token_verifies_for_exactly_what_it_was_signed_over() -> None:
    token = sign(KEY, **FIELDS)
    assert token.startswith("hv1.") and len(token) == 4 + 64
    assert verify(KEY, token, **FIELDS) == (True, "")


@pytest.mark.parametrize(
    "change",
    [
        {"migration_id": "m-ffffffffffff"},
        {"gate": "decommission"},
        {"plan_hash": "cd" * 32},
        {"decision": "reject"},
        {"approvers": ["U0LOOMIS02"]},
        {"approvers": ["U0LOOMIS01", "U0LOOMIS02"]},
        {"decided_at": AT + timedelta(seconds=1)},
    ],
)
def test_any_change_breaks_the_token(change: dict[str, Any]) -> None:
    token = sign(KEY, **FIELDS)
    ok, why = verify(KEY, token, **(FIELDS | change))
    assert not ok and "does not match" in why


def test_another_key_or_a_made_up_token_does_not_verify() -> None:
    token = sign(KEY, **FIELDS)
    assert verify(b"x" * 32, token, **FIELDS)[0] is False
    assert verify(KEY, "hv1." + "0" * 64, **FIELDS)[0] is False
    ok, why = verify(KEY, "hv2." + token[4:], **FIELDS)
    assert not ok and "version" in why
    ok, why = verify(KEY, "", **FIELDS)
    assert not ok and "no approval token" in why


def test_field_boundaries_cannot_be_shifted() -> None:
    # With a naive "a|b" join these two would sign the same bytes.
    a = sign(KEY, **(FIELDS | {"migration_id": "m-1|cutover", "gate": "x"}))
    b = sign(KEY, **(FIELDS | {"migration_id": "m-1", "gate": "cutover|x"}))
    assert a != b


def test_the_time_is_one_instant_whatever_its_spelling() -> None:
    token = sign(KEY, **FIELDS)
    paris = AT.astimezone(timezone(timedelta(hours=2)))
    for spelling in (paris, "2024-05-01T10:30:00+00:00", "2024-05-01T12:30:00+02:00"):
        assert verify(KEY, token, **(FIELDS | {"decided_at": spelling}))[0] is True
    assert decided_at_text(paris) == "2024-05-01T10:30:00+00:00"
    with pytest.raises(ValueError, match="time zone"):
        sign(KEY, **(FIELDS | {"decided_at": datetime(2024, 5, 1)}))


def test_bad_keys_and_incomplete_decisions_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="HANDOVER_APPROVALS__TOKEN_KEY"):
        sign(b"short", **FIELDS)
    with pytest.raises(ValueError, match="plan_hash"):
        sign(KEY, **(FIELDS | {"plan_hash": ""}))
    with pytest.raises(ValueError, match="at least one approver"):
        sign(KEY, **(FIELDS | {"approvers": []}))
    with pytest.raises(ValueError, match="decision must be one of"):
        sign(KEY, **(FIELDS | {"decision": "maybe"}))
    # Expiry is the reaper's decision: nobody approved, and it is still signed.
    expired = sign(KEY, **(FIELDS | {"decision": "expired", "approvers": []}))
    assert verify(KEY, expired, **(FIELDS | {"decision": "expired", "approvers": []}))[0]
    # A forged input with an unknown decision is a (False, why), never an exception.
    ok, why = verify(KEY, expired, **(FIELDS | {"decision": "maybe"}))
    assert not ok and "incomplete" in why


def test_verify_input_checks_what_the_flow_knows_itself() -> None:
    token = sign(KEY, **FIELDS)
    resumed = GateInput(
        decision="approve",
        approvers=["U0LOOMIS01"],
        reason=None,
        decided_at=decided_at_text(AT),
        token=token,
    )
    where = {"migration_id": FIELDS["migration_id"], "plan_hash": FIELDS["plan_hash"]}
    assert verify_input(KEY, resumed, gate="cutover", **where) == (True, "")
    assert verify_input(KEY, resumed, gate="decommission", **where)[0] is False
    forged = resumed.model_copy(update={"approvers": ["U0SOMEONE1"]})
    assert verify_input(KEY, forged, gate="cutover", **where)[0] is False
