"""The Salesforce CLI's stored login (`auth = "sf-cli"`): admins who already use `sf`
reuse the org they logged in to, by alias, instead of setting up a connected app first.

Two calls to the CLI, each ``--json``: `sf org display` (which refreshes an expired token
and names the instance URL: the CLI stores it with a trailing ``/``) and
`sf org auth show-access-token` (recent CLIs hide the token in `org display`'s answer).
The token lives in memory only, as a ``SecretStr``; no message ever carries it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from ..errors import AuthenticationError, ConfigError


@dataclass(frozen=True)
class StoredLogin:
    instance_url: str  # without the trailing "/"
    access_token: SecretStr
    username: str | None


def stored_login(alias: str, *, sf: str = "sf", timeout: float = 60.0) -> StoredLogin:
    """The CLI's login for ``alias`` (an alias or username): ConfigError when the CLI is
    missing, AuthenticationError (saying how to log in again) when it has no usable login."""
    shown = _run(sf, ["org", "display", "--target-org", alias], alias, timeout)
    token = _run(sf, ["org", "auth", "show-access-token", "--target-org", alias], alias, timeout)
    url = str(shown.get("instanceUrl") or "").rstrip("/")
    secret = str(token.get("accessToken") or "")
    if not url.startswith("https://") or not secret or secret.startswith("[REDACTED]"):
        raise AuthenticationError(
            f"the Salesforce CLI gave no usable login for {alias!r} (instance URL "
            f"{url or 'missing'}, access token {'missing' if not secret else 'hidden'}); "
            f"log in again: `sf org login web --alias {alias}`"
        )
    return StoredLogin(url, SecretStr(secret), shown.get("username"))


def _run(sf: str, args: list[str], alias: str, timeout: float) -> dict[str, Any]:
    exe = shutil.which(sf)
    if exe is None:
        raise ConfigError(
            f'org entry with auth = "sf-cli": the Salesforce CLI ({sf!r}) is not on PATH; '
            "install it (npm install --global @salesforce/cli) or set sf_cli = "
            '"/path/to/sf" in the org entry'
        )
    try:
        proc = subprocess.run(
            [exe, *args, "--json"], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise AuthenticationError(
            f"`sf {' '.join(args)}` did not answer in {timeout:.0f} s; try it in a shell"
        ) from None
    try:
        answer = json.loads(proc.stdout)
    except ValueError:
        answer = {}
    if proc.returncode != 0 or answer.get("status") != 0:
        # The CLI's own message (never the token: a failed call has none to show).
        said = str(answer.get("message") or answer.get("name") or "no JSON answer").strip()
        raise AuthenticationError(
            f"the Salesforce CLI has no usable login for {alias!r}: {said.splitlines()[0]}; "
            f"log in with `sf org login web --alias {alias}` (or check the alias with "
            "`sf org list`)"
        )
    result = answer.get("result")
    return result if isinstance(result, dict) else {}
