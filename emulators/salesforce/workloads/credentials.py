"""The credential source of a workload, and logging in the way it says.

The credential source is a JSON file, ``<credentials_dir>/<slug of the workload>.json``,
that the workload's external system reads at every run. It is the cutover contract:
handover's ``file`` credential sink rewrites keys of it in place (a new JWT ``username``, a
new ``password``, ...), and the next run logs in as the file then says. Its keys:
``auth`` (``jwt_bearer`` | ``client_credentials`` | ``password`` | ``soap_login`` |
``refresh_token``), ``username``, ``instance_host`` (the My Domain), ``consumer_key``,
``consumer_secret``, ``private_key_pem``, ``password``, ``security_token``,
``refresh_token``. Logins run over real HTTPS with unmodified simple-salesforce (through
``client``); a refusal raises ``LoginFailed`` with the flow's real error code and text.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import requests
from cryptography.hazmat.primitives import serialization
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

from .. import client
from .results import LoginFailed, error_of


def slug(name: str) -> str:
    """A workload name as a file name: lower case, every other character a dash."""
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def credential_file(credentials_dir: Path, workload: str) -> Path:
    """The credential source of a workload, as the emulator writes it (server.py)."""
    return credentials_dir / f"{slug(workload)}.json"


def write_credentials(credentials_dir: Path, workload: str, values: dict[str, Any]) -> Path:
    """Write a credential source readable by its owner only (it holds secrets)."""
    credentials_dir.mkdir(parents=True, exist_ok=True)
    path = credential_file(credentials_dir, workload)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(values, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def read_credentials(credentials_dir: Path, workload: str) -> dict[str, Any]:
    path = credential_file(credentials_dir, workload)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise LoginFailed(
            "NO_CREDENTIALS", f"no credential source for {workload!r} at {path}"
        ) from None
    if not isinstance(data, dict):
        raise LoginFailed("NO_CREDENTIALS", f"{path} does not hold a JSON object")
    return data


def _domain(creds: dict[str, Any], info: dict[str, Any]) -> str:
    """simple-salesforce's ``domain``: the My Domain host without ``.salesforce.com``."""
    host = str(creds.get("instance_host") or info["my_domain"])
    return host.removesuffix(".salesforce.com")


def _require(creds: dict[str, Any], auth: str, *keys: str) -> list[str]:
    missing = [k for k in keys if not creds.get(k)]
    if missing:
        raise LoginFailed(
            "NO_CREDENTIALS",
            f"the credential source of a {auth} workload lacks {', '.join(missing)}",
        )
    return [str(creds[k]) for k in keys]


def login(
    info: dict[str, Any],
    creds: dict[str, Any],
    session: requests.Session,
    *,
    client_name: str | None = None,
) -> Salesforce:
    """Log in the way the credential source says. Raises LoginFailed with the real error."""
    auth = str(creds.get("auth") or "")
    version = str(info.get("api_version") or "59.0")
    try:
        if auth == "jwt_bearer":
            username, key, pem = _require(
                creds, auth, "username", "consumer_key", "private_key_pem"
            )
            return client.connect(
                info,
                session=session,
                version=version,
                username=username,
                consumer_key=key,
                privatekey=_signing_key(pem),
                domain=_domain(creds, info),
            )
        if auth == "client_credentials":
            key, secret = _require(creds, auth, "consumer_key", "consumer_secret")
            return client.connect(
                info,
                session=session,
                version=version,
                consumer_key=key,
                consumer_secret=secret,
                domain=_domain(creds, info),
            )
        if auth == "password":
            username, password, key, secret = _require(
                creds, auth, "username", "password", "consumer_key", "consumer_secret"
            )
            # The OAuth username-password flow takes the security token appended to the password.
            return client.connect(
                info,
                session=session,
                version=version,
                username=username,
                password=password + str(creds.get("security_token") or ""),
                consumer_key=key,
                consumer_secret=secret,
                domain=_domain(creds, info),
            )
        if auth == "soap_login":
            return _soap_login(info, creds, session, version, client_name)
        if auth == "refresh_token":
            return _refresh_token_login(info, creds, session, version)
    except SalesforceAuthenticationFailed as e:
        raise LoginFailed(str(e.code), str(e.auth_message)) from None
    except SalesforceError as e:
        code, message = error_of(e)
        raise LoginFailed(code, message, e.status) from None
    except requests.RequestException as e:
        # The connection failed (a dropped response): the external system's login failed.
        raise LoginFailed(type(e).__name__, str(e)[:300]) from None
    raise LoginFailed("UNSUPPORTED_AUTH", f"the runner cannot log in with auth {auth!r}")


@lru_cache(maxsize=64)
def _signing_key(pem: str) -> Any:
    """The key an external system keeps loaded between runs. simple-salesforce hands its
    ``privatekey`` to PyJWT, which takes a loaded key as well as a PEM; loading (and
    validating) a 2048-bit key costs tens of milliseconds, paid once here instead of at
    every login. A PEM that does not load is passed on as text: the client fails on it as
    it would."""
    try:
        return serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return pem


def _soap_login(
    info: dict[str, Any],
    creds: dict[str, Any],
    session: requests.Session,
    version: str,
    client_name: str | None,
) -> Salesforce:
    """SOAP login() as the workload's own client sends it. simple-salesforce would name
    itself in CallOptions ("simple-salesforce/<client_id>"); Data Loader sends its own name,
    and LoginHistory.Application shows exactly that."""
    username, password = _require(creds, "soap_login", "username", "password")
    secret = password + str(creds.get("security_token") or "")
    call_options = (
        f"<urn:CallOptions><urn:client>{escape(client_name)}</urn:client></urn:CallOptions>"
        if client_name
        else ""
    )
    envelope = (
        '<?xml version="1.0" encoding="utf-8" ?>'
        '<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">'
        f"<env:Header>{call_options}</env:Header>"
        f"<env:Body><urn:login><urn:username>{escape(username)}</urn:username><urn:password>{escape(secret)}</urn:password></urn:login></env:Body>"
        "</env:Envelope>"
    )
    host = str(creds.get("instance_host") or info["my_domain"])
    resp = session.post(
        f"https://{host}/services/Soap/u/{version}",
        data=envelope.encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "login"},
        timeout=30,
    )
    try:
        root = ET.fromstring(resp.content)
    except ET.ParseError:
        raise LoginFailed(f"HTTP_{resp.status_code}", resp.text[:200], resp.status_code) from None
    texts = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter()}
    if resp.status_code != 200 or "sessionId" not in texts:
        code = (
            texts.get("exceptionCode")
            or texts.get("faultcode", f"HTTP_{resp.status_code}").rsplit(":", 1)[-1]
        )
        raise LoginFailed(
            code, texts.get("exceptionMessage") or texts.get("faultstring", ""), resp.status_code
        )
    return Salesforce(
        instance_url=texts["serverUrl"],
        session_id=texts["sessionId"],
        session=session,
        version=version,
    )


def _refresh_token_login(
    info: dict[str, Any], creds: dict[str, Any], session: requests.Session, version: str
) -> Salesforce:
    """simple-salesforce has no refresh-token login: POST the grant, then use the session."""
    (token,) = _require(creds, "refresh_token", "refresh_token")
    (key,) = _require(creds, "refresh_token", "consumer_key")
    form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": key}
    if creds.get("consumer_secret"):
        form["client_secret"] = str(creds["consumer_secret"])
    host = str(creds.get("instance_host") or info["my_domain"])
    resp = session.post(f"https://{host}/services/oauth2/token", data=form, timeout=30)
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code != 200 or "access_token" not in body:
        raise LoginFailed(
            str(body.get("error") or f"HTTP_{resp.status_code}"),
            str(body.get("error_description") or resp.text[:200]),
            resp.status_code,
        )
    return Salesforce(
        instance_url=body["instance_url"],
        session_id=body["access_token"],
        session=session,
        version=version,
    )
