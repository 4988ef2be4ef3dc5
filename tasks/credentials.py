"""The credential sinks that live in Prefect: Secret blocks (handover/ never imports
Prefect, so the block side of ``handover.credentials`` is here), and the one way the
migration picks its sink from the flow's parameters and the settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prefect.blocks.system import Secret

from handover.credentials import CredentialSink, StoredPasswords, file_sink
from handover.errors import ConfigError
from handover.models import SINK_KINDS
from handover.settings import CutoverSettings

BLOCK_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def credentials_block(migration_id: str) -> str:
    """Where a migration's new credentials go by default (``prefect-secret``, ``operator``)."""
    return f"handover-{migration_id}-credentials"


class SecretBlock:
    """A ``SecretDocument`` in a Prefect Secret block (its value: a JSON object)."""

    def __init__(self, name: str) -> None:
        if not name or set(name) - BLOCK_NAME_CHARS:
            raise ConfigError(
                f"{name!r} cannot name a Prefect Secret block: use lower-case letters, "
                "digits and dashes"
            )
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def read(self) -> dict[str, Any] | None:
        try:
            block = Secret.load(self._name)
        except ValueError:  # Prefect's answer for a block that does not exist
            return None
        value = block.get()  # type: ignore[union-attr]
        if not isinstance(value, dict):
            raise ConfigError(
                f"the Secret block {self._name} does not hold a JSON object: handover reads and "
                "writes credentials as one; choose another block"
            )
        return value

    def write(self, values: Mapping[str, Any]) -> None:
        Secret(value=dict(values)).save(self._name, overwrite=True)

    def delete(self) -> None:
        if self.read() is not None:
            Secret.delete(self._name)  # type: ignore[call-arg]


def sink_kind(parameter: str | None, settings: CutoverSettings) -> str:
    kind = parameter or settings.sink
    if kind not in SINK_KINDS:
        raise ConfigError(
            f"credential sink {kind!r} is not one handover has: choose {', '.join(SINK_KINDS)}"
        )
    return kind


def build_sink(
    kind: str, target: str | None, migration_id: str, settings: CutoverSettings
) -> CredentialSink:
    """The sink of ``kind``: the file sink over ``target``; a Secret block otherwise
    (``target`` names it, default ``handover-<migration id>-credentials``), with the
    replaced credentials and the generated password kept in blocks of their own."""
    if kind == "file":
        return file_sink(target, settings.secrets_dir, migration_id)
    return CredentialSink(
        kind,
        SecretBlock(target or credentials_block(migration_id)),
        SecretBlock(f"handover-{migration_id}-prior-credentials"),
        StoredPasswords(SecretBlock(f"handover-{migration_id}-passwords")),
    )
