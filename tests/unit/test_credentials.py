"""Credential sinks (the file sink, and a sink over any secret document): the keys that
change are rewritten in place and the rest kept, the file stays readable by its owner
only, what was replaced is saved once and put back by a rollback, and a generated
password is the same however often it is asked for."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from handover.credentials import CredentialSink, JsonFile, StoredPasswords, file_sink
from handover.errors import ConfigError, MigrationError
from handover.migration.apply import apply_actions
from handover.migration.memory import MemoryLedger
from handover.migration.rollback import apply_rollback
from handover.models.migration import SECRET_PLACEHOLDER, WriteAction

HUMAN = {
    "auth": "soap_login",
    "username": "priya.shah@loomis-logistics.com",
    "password": "Priya-Old-Password-1",
    "security_token": "PRIYATOKEN123",
    "instance_host": "loomis-logistics.my.salesforce.com",
}


def credentials(action: str = "update", **after: Any) -> WriteAction:
    return WriteAction(
        step="cutover",
        key="cutover:credentials",
        action=action,  # type: ignore[arg-type]
        object="Credentials",
        target="Data Loader credentials (file)",
        match={"sink": "file", "app": "DataLoaderBatch"},
        after=after,
    )


class Memory:
    """A secret document in memory."""

    def __init__(self, name: str, value: dict[str, Any] | None = None) -> None:
        self._name, self.value = name, value

    @property
    def name(self) -> str:
        return self._name

    def read(self) -> dict[str, Any] | None:
        return None if self.value is None else dict(self.value)

    def write(self, values: Any) -> None:
        self.value = dict(values)

    def delete(self) -> None:
        self.value = None


@pytest.fixture
def external(tmp_path: Path) -> Path:
    path = tmp_path / "external" / "data-loader.json"
    path.parent.mkdir()
    path.write_text(json.dumps(HUMAN))
    path.chmod(0o644)
    return path


def test_the_file_sink_changes_keys_in_place_and_rolls_back(external: Path, tmp_path: Path) -> None:
    sink = file_sink(str(external), tmp_path / "secrets", "m-000000000001")
    ledger = MemoryLedger()
    action = credentials(username="svc.dataloader@loomis.example", password=SECRET_PLACEHOLDER)
    (entry,) = apply_actions([action], ledger, sink, dry_run=False)
    after = json.loads(external.read_text())
    password = sink.passwords("cutover:password")
    assert after == {
        **HUMAN,
        "username": "svc.dataloader@loomis.example",
        "password": password,
        "security_token": "",  # the human's token would break the new user's login
    }
    assert stat.S_IMODE(external.stat().st_mode) == 0o600
    # The ledger keeps the username it replaced, never a secret.
    assert entry.before == {"username": HUMAN["username"]}
    assert password not in json.dumps([e.model_dump(mode="json") for e in ledger.entries()])
    # Applying again finds it in place; a rollback puts the human's values back.
    assert apply_actions([action], ledger, sink, dry_run=False)[0].status == "done"
    apply_rollback(ledger, sink)
    assert json.loads(external.read_text()) == HUMAN
    sink.forget()
    assert list((tmp_path / "secrets").iterdir()) == []


def test_the_prior_values_are_saved_once() -> None:
    target = Memory("block", dict(HUMAN))
    sink = CredentialSink("prefect-secret", target, Memory("prior"), StoredPasswords(Memory("pw")))
    sink.write(credentials(username="svc.a@x.example"), sink.probe(credentials()))
    # A re-run after a crash writes again: what it saves as "before" must stay the human's.
    sink.write(credentials(username="svc.a@x.example"), sink.probe(credentials()))
    sink.write(credentials("restore"), sink.probe(credentials()))
    assert target.value == HUMAN


def test_a_target_that_did_not_exist_is_removed_by_the_rollback() -> None:
    target = Memory("handover-m-000000000001-credentials")
    sink = CredentialSink("operator", target, Memory("prior"), StoredPasswords(Memory("pw")))
    assert sink.probe(credentials()).state == {"username": None}
    sink.write(credentials(username="svc.a@x.example"), sink.probe(credentials()))
    assert target.value == {"username": "svc.a@x.example"}
    sink.write(credentials("restore"), sink.probe(credentials()))
    assert target.value is None


def test_a_generated_password_is_kept_before_it_is_used(tmp_path: Path) -> None:
    kept = JsonFile(tmp_path / "passwords.json")
    first = StoredPasswords(kept)("cutover:password")
    assert StoredPasswords(JsonFile(tmp_path / "passwords.json"))("cutover:password") == first
    assert stat.S_IMODE((tmp_path / "passwords.json").stat().st_mode) == 0o600
    assert any(c.isdigit() for c in first) and any(not c.isalnum() for c in first)


def test_bad_targets_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HANDOVER_CUTOVER__SINK_TARGET"):
        file_sink(None, tmp_path, "m-000000000001")
    with pytest.raises(ConfigError, match="does not exist"):
        file_sink(str(tmp_path / "nowhere.json"), tmp_path, "m-000000000001")
    (tmp_path / "broken.json").write_text("{not json")
    sink = file_sink(str(tmp_path / "broken.json"), tmp_path, "m-000000000001")
    with pytest.raises(MigrationError, match="is not JSON"):
        sink.probe(credentials())
