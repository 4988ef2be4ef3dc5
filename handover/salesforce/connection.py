"""How handover logs in to an org: JWT bearer, client credentials, the Salesforce CLI's
stored login, or an emulator's ``--info`` file. Several orgs live by name in one TOML file (``handover-orgs.toml``)::

    [orgs.loomis-prod]
    auth = "jwt"                              # jwt | client_credentials
    my_domain = "loomis.my.salesforce.com"
    consumer_key = "3MVG9..."
    username = "handover@loomis.com"           # jwt only
    private_key_file = "~/.handover/loomis.key"  # jwt only
    # consumer_secret_file = "~/.handover/loomis.secret"   # client_credentials only

    [orgs.loomis-sandbox]                     # the login `sf` keeps (sf org login web)
    auth = "sf-cli"
    alias = "loomis-sandbox"                   # an alias or username `sf org list` shows
    # sf_cli = "/usr/local/bin/sf"             # when `sf` is not on PATH

    [orgs.emulator]                           # a running emulator, by its --info file
    auth = "emulator"
    info_file = ".handover/salesforce.json"

Secrets are read from files, never written into the config itself.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator
from simple_salesforce import Salesforce

from ..errors import ConfigError, ReadOnlyRefused
from ..models import HANDOVER_CLIENT
from .sf_cli import stored_login
from .translate import translated


class OrgConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    auth: Literal["jwt", "client_credentials", "sf-cli", "emulator"]
    my_domain: str | None = None
    consumer_key: str | None = None
    username: str | None = None
    private_key_file: Path | None = None
    consumer_secret_file: Path | None = None
    # sf-cli only: the CLI's alias (or username) and, when not on PATH, the CLI itself
    alias: str | None = None
    sf_cli: str = "sf"
    # emulator only: its --info file, or (read from that file) the connection itself
    info_file: Path | None = None
    instance_url: str | None = None
    ca_bundle: Path | None = None
    access_token: SecretStr | None = None
    org_id: str | None = None

    @field_validator("my_domain")
    @classmethod
    def _domain(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.removeprefix("https://").rstrip("/")
        if not v.endswith(".salesforce.com"):
            raise ValueError(
                f"my_domain must be the org's My Domain host (…my.salesforce.com), got {v!r}"
            )
        return v

    def check(self) -> None:
        """Every field the chosen auth needs, or one clear message naming what's missing."""
        need = {
            "jwt": ["my_domain", "consumer_key", "username", "private_key_file"],
            "client_credentials": ["my_domain", "consumer_key", "consumer_secret_file"],
            "sf-cli": ["alias"],
            "emulator": ["instance_url", "ca_bundle", "access_token"],
        }[self.auth]
        missing = [f for f in need if getattr(self, f) in (None, "")]
        if missing:
            raise ConfigError(
                f"org {self.name!r} (auth = {self.auth}) is missing: {', '.join(missing)}. Add them to the orgs file."
            )
        for f in ("private_key_file", "consumer_secret_file", "ca_bundle"):
            p = getattr(self, f)
            if p is not None and not Path(p).expanduser().is_file():
                raise ConfigError(f"org {self.name!r}: {f} {p} does not exist or is not a file.")


def load_orgs(path: Path) -> dict[str, OrgConfig]:
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"orgs file {path} not found. Create it (see README: Connecting to an org) or pass --emulator INFO_FILE."
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"orgs file {path} is not valid TOML: {e}") from None
    orgs = {}
    for name, body in (raw.get("orgs") or {}).items():
        try:
            orgs[name] = OrgConfig(name=name, **body)
        except ValidationError as e:
            first = e.errors()[0]
            raise ConfigError(
                f"orgs file {path}, org {name!r}: {'.'.join(map(str, first['loc']))}: {first['msg']}"
            ) from None
    return orgs


def from_emulator_info(path: Path) -> OrgConfig:
    try:
        info = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"emulator info file {path} not found. Start the emulator with `handover emulator serve --scenario ... --info {path}`."
        ) from None
    except ValueError:
        raise ConfigError(f"emulator info file {path} is not JSON.") from None
    missing = [k for k in ("instance_url", "ca_bundle", "access_token") if k not in info]
    if missing:
        raise ConfigError(
            f"emulator info file {path} lacks {', '.join(missing)}; is it an emulator --info file?"
        )
    return OrgConfig(
        name=info.get("org_name", "emulator"),
        auth="emulator",
        instance_url=info["instance_url"],
        ca_bundle=Path(info["ca_bundle"]),
        access_token=SecretStr(info["access_token"]),
        org_id=info.get("org_id"),
    )


def resolve(
    orgs_file: Path, org: str | None, emulator_info: Path | None, default_org: str | None = None
) -> OrgConfig:
    if emulator_info is not None:
        if org is not None:
            raise ConfigError("give either --org or --emulator, not both.")
        return from_emulator_info(emulator_info)
    orgs = load_orgs(orgs_file)
    name = org or default_org or (next(iter(orgs)) if len(orgs) == 1 else None)
    if name is None:
        raise ConfigError(
            f"several orgs in {orgs_file} ({', '.join(orgs)}): choose one with --org NAME."
        )
    if name not in orgs:
        raise ConfigError(
            f"no org named {name!r} in {orgs_file}; known: {', '.join(orgs) or 'none'}."
        )
    chosen = orgs[name]
    if chosen.auth == "emulator" and chosen.info_file is not None:
        # Read when chosen, not when loaded: the emulator may start after the file is written.
        return from_emulator_info(chosen.info_file.expanduser()).model_copy(update={"name": name})
    return chosen


# The only calls besides reads a discovery-only session makes: logging in.
LOGIN_PATHS = ("/services/oauth2/token", "/services/Soap/u/")


class _TimeoutSession(requests.Session):
    """simple-salesforce sets no timeout; a production tool must never hang forever. In
    discovery-only mode (``read_only``) every request that could change the org is refused
    here, before it is sent: one place every call to the org goes through."""

    def __init__(self, timeout: float, *, read_only: bool = False) -> None:
        super().__init__()
        self.default_timeout = timeout
        self.read_only = read_only

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        if self.read_only and not _is_read(str(method), str(url)):
            path = urlsplit(str(url)).path
            raise ReadOnlyRefused(
                f"refused {str(method).upper()} {path}: handover runs in discovery-only mode "
                "(HANDOVER_SALESFORCE__READ_ONLY), which reads and never writes; unset it to "
                "migrate"
            )
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, *args, **kwargs)


def _is_read(method: str, url: str) -> bool:
    if method.upper() in ("GET", "HEAD"):
        return True
    path = urlsplit(url).path
    return method.upper() == "POST" and path.startswith(LOGIN_PATHS)


def login(
    config: OrgConfig, *, api_version: str, timeout: float, read_only: bool = False
) -> Salesforce:
    """A logged-in simple-salesforce client (errors translated, secrets never echoed);
    with ``read_only``, one that refuses every write before sending it."""
    config.check()
    session = _TimeoutSession(timeout, read_only=read_only)
    # Every call handover makes names it, so the event logs tell its own traffic apart.
    session.headers["Sforce-Call-Options"] = f"client={HANDOVER_CLIENT}"
    with translated(f"logging in to {config.name}"):
        if config.auth == "emulator":
            session.verify = str(config.ca_bundle)
            session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify otherwise
            assert config.access_token is not None
            return Salesforce(
                instance_url=config.instance_url,
                session_id=config.access_token.get_secret_value(),
                session=session,
                version=api_version,
            )
        if config.auth == "sf-cli":
            assert config.alias is not None
            stored = stored_login(config.alias, sf=config.sf_cli, timeout=max(timeout, 60))
            if config.ca_bundle is not None:  # a private CA (the emulator's, in tests)
                session.verify = str(config.ca_bundle)
                session.trust_env = False
            return Salesforce(
                instance_url=stored.instance_url,
                session_id=stored.access_token.get_secret_value(),
                session=session,
                version=api_version,
            )
        assert config.my_domain is not None
        domain = config.my_domain.removesuffix(".salesforce.com")
        if config.auth == "jwt":
            key = Path(config.private_key_file).expanduser().read_text()  # type: ignore[arg-type]
            return Salesforce(
                username=config.username,
                consumer_key=config.consumer_key,
                privatekey=key,
                domain=domain,
                session=session,
                version=api_version,
            )
        secret = Path(config.consumer_secret_file).expanduser().read_text().strip()  # type: ignore[arg-type]
        return Salesforce(
            consumer_key=config.consumer_key,
            consumer_secret=secret,
            domain=domain,
            session=session,
            version=api_version,
        )
