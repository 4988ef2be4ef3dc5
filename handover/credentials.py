"""Credential sinks: where a cutover hands the new credentials to the external system, and
where the ones they replace are kept for a rollback. Never the ledger, a log, an artifact
or Slack: those see the username, and a password only as ``SECRET_PLACEHOLDER``.

A sink is the ``OrgPort`` of ``Credentials`` actions (``migration.apply.Router`` sends them
here): ``probe`` tells the username the target holds now (nothing secret, so it may be the
ledger's ``before``), ``write`` changes the keys the action names and keeps the others,
and a rollback's ``restore`` puts those keys back as they were.

Kinds (``CutoverSettings.sink``):

* ``file``: a JSON file the external system reads at every run (the emulator's workloads
  read theirs this way: ``emulators/salesforce/workloads/credentials.py`` lists the keys).
  Written atomically (a temporary file renamed over it), readable by its owner only.
* ``prefect-secret``: a Prefect Secret block the external system reads; ``operator``: the
  same block, and a person switches the external system over (the flow's ``operator``
  gate). The block lives in the shell (``tasks/credentials.py``): handover/ never imports
  Prefect. Both take a ``SecretDocument``.

What a sink replaced is saved before the first write, once (a re-run after a crash must
not save the new values as the old ones), in a secret document of its own: a 0600 file
beside the migration's other secrets for the file sink, a Secret block otherwise. The new
user's password comes from ``StoredPasswords``, backed the same way, so a re-run hands the
external system the password the user was given.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from .errors import ConfigError, MigrationError
from .models.migration import SECRET_PLACEHOLDER, Observed, WriteAction

# A placeholder in a Credentials action -> the action key whose password it is.
PASSWORD_KEYS = {"password": "cutover:password"}
# Keys of a credentials file that belong to the human and would break the new login
# (a security token is per user: the new user logs in without the human's).
PER_USER_SECRETS = ("security_token",)


class SecretDocument(Protocol):
    """One JSON object kept secret: a 0600 file, a Prefect Secret block."""

    @property
    def name(self) -> str:
        """What people may read about it (a path, a block name): never its content."""
        ...

    def read(self) -> dict[str, Any] | None:
        """Its content, None when it does not exist."""
        ...

    def write(self, values: Mapping[str, Any]) -> None: ...

    def delete(self) -> None:
        """Remove it (nothing happens when it does not exist)."""
        ...


def write_private_json(path: Path, values: Mapping[str, Any]) -> None:
    """Write ``values`` to ``path`` readable by its owner only, atomically: a reader sees
    the old file or the new one, never half of one, and never a moment of wider access."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:  # mkstemp creates it 0600
            json.dump(dict(values), fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    path.chmod(0o600)


class JsonFile:
    """A ``SecretDocument`` in a JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser()

    @property
    def name(self) -> str:
        return str(self.path)

    def read(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            raise MigrationError(
                f"{self.path} is not JSON: the credential sink reads and writes a JSON "
                "object; fix the file or choose another sink target"
            ) from None
        if not isinstance(data, dict):
            raise MigrationError(f"{self.path} holds no JSON object: fix the file")
        return data

    def write(self, values: Mapping[str, Any]) -> None:
        write_private_json(self.path, values)

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


def _new_password() -> str:
    # Letters and digits, then a digit, a lower-case letter and a symbol: passes the usual
    # org password policies whatever the random part drew.
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(24)) + "7a!"


class StoredPasswords:
    """A ``PasswordSource`` (``salesforce.writer``) that keeps what it makes in a secret
    document: asked again for the same key, by this process or a re-run after a crash, it
    gives the same password."""

    def __init__(self, document: SecretDocument) -> None:
        self.document = document

    def __call__(self, key: str) -> str:
        kept = self.document.read() or {}
        if key not in kept:
            kept = {**kept, key: _new_password()}
            self.document.write(kept)  # kept before it is used anywhere
        return str(kept[key])

    def forget(self) -> None:
        self.document.delete()


class CredentialSink:
    """The ``OrgPort`` of ``Credentials`` actions over a target document."""

    def __init__(
        self,
        kind: str,
        target: SecretDocument,
        priors: SecretDocument,
        passwords: StoredPasswords,
    ) -> None:
        self.kind, self.target, self.priors, self.passwords = kind, target, priors, passwords
        # Other secrets a write may hand over (a rotation's new private key or client
        # secret), by the key they go under; None: only the generated password.
        self.secret_values: Callable[[str], str | None] | None = None

    @property
    def where(self) -> str:
        """Where the credentials went, for people (a path or a block name)."""
        return self.target.name

    def probe(self, action: WriteAction) -> Observed:
        current = self.target.read()
        username = (current or {}).get("username")
        # Always a state (never None): the ledger then keeps a ``before`` and a rollback
        # gets its ``restore``, also when the target did not exist yet.
        return Observed(state={"username": username})

    def write(self, action: WriteAction, observed: Observed) -> list[str]:
        if action.action == "restore":
            self._restore()
            return []
        # "set_password": secrets renewed under the same username (a rotation), which a
        # probe cannot tell from what is there: always written.
        if action.action not in ("update", "set_password"):
            raise MigrationError(f"a credential sink cannot {action.action} credentials")
        current = self.target.read()
        changes = {k: self._value(k, v) for k, v in action.after.items()}
        if "password" in changes:
            for key in PER_USER_SECRETS:
                if (current or {}).get(key):
                    changes[key] = ""
        self._save_prior(current, changes)
        self.target.write({**(current or {}), **changes})
        return []

    def _value(self, key: str, value: Any) -> Any:
        if value != SECRET_PLACEHOLDER:
            return value
        if self.secret_values is not None and (found := self.secret_values(key)) is not None:
            return found
        if key not in PASSWORD_KEYS:
            raise MigrationError(f"no secret is known for the credentials' {key!r}")
        return self.passwords(PASSWORD_KEYS[key])

    def _save_prior(self, current: dict[str, Any] | None, changes: Mapping[str, Any]) -> None:
        if self.priors.read() is not None:
            return  # saved by an earlier attempt: those are the values before the migration
        kept = {k: current[k] for k in changes if current is not None and k in current}
        absent = [k for k in changes if current is None or k not in current]
        self.priors.write({"existed": current is not None, "values": kept, "absent": absent})

    def _restore(self) -> None:
        prior = self.priors.read()
        if prior is None:
            return  # nothing was ever written: nothing to put back
        if not prior.get("existed"):
            self.target.delete()
            return
        current = dict(self.target.read() or {})
        for key in prior.get("absent") or []:
            current.pop(key, None)
        current.update(prior.get("values") or {})
        self.target.write(current)

    def forget(self) -> None:
        """Drop the kept secrets (the replaced credentials, the generated password): the
        migration is over, nothing will be rolled back."""
        self.priors.delete()
        self.passwords.forget()


def file_sink(target: str | None, secrets_dir: Path, migration_id: str) -> CredentialSink:
    """The ``file`` sink over the external system's credentials file ``target``."""
    if not target:
        raise ConfigError(
            "the file credential sink needs the external system's credentials file: set "
            "HANDOVER_CUTOVER__SINK_TARGET (or the migrate flow's sink_target) to its path"
        )
    path = Path(target).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"the credential sink target {path} does not exist: point it at the JSON file the "
            "external system reads its credentials from"
        )
    own = Path(secrets_dir).expanduser()
    return CredentialSink(
        "file",
        JsonFile(path),
        JsonFile(own / f"{migration_id}-prior-credentials.json"),
        StoredPasswords(JsonFile(own / f"{migration_id}-passwords.json")),
    )
