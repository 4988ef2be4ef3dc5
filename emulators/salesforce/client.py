"""How clients connect to a running emulator, over real HTTPS and without modifying them.

simple-salesforce hard-codes ``https://{domain}.salesforce.com`` for every login and token
URL (reference 6.2), so a real login can't be pointed at 127.0.0.1 by configuration.
``EmulatorAdapter`` is a requests transport adapter that sends every
``https://*.salesforce.com/...`` request to the emulator's 127.0.0.1:port instead, with the
original host in the ``Host`` header. The emulator answers as that host would: a token
request sent to ``login.salesforce.com`` is refused for client credentials, and a login
that came through the adapter gets ``instance_url = https://{my_domain}``, which the same
adapter then routes back to the emulator. TLS is verified for real against the emulator's
CA (its server certificate names 127.0.0.1); ``verify=False`` is never needed.

Usage, with ``info`` being the emulator's ``--info`` dict (``RunningEmulator.info()``)::

    sf = connect(info)                                   # the admin's session, direct
    sf = connect(info, username=u, consumer_key=ck, privatekey=pem)        # JWT bearer
    sf = connect(info, consumer_key=ck, consumer_secret=cs, domain="acme.my")  # client creds
    sf = connect(info, username=u, password=pw, security_token=tok)        # SOAP login()
    sf = connect(info, username=u, password=pw + tok, consumer_key=ck, consumer_secret=cs)

The Metadata API (``sf.mdapi``) is the exception: zeep builds its own ``requests.Session``
(not ``sf.session``, reference 6.6), so neither the adapter nor ``verify`` reach it.
Use a direct connection (``connect(info)`` or any ``instance_url`` on 127.0.0.1, so the
metadata URL needs no adapter) and make zeep's session trust the CA through the
environment: ``REQUESTS_CA_BUNDLE=<info["ca_bundle"]>`` (zeep's session keeps
``trust_env``; in tests, ``monkeypatch.setenv``). Sessions made by ``session_for`` set
``trust_env = False`` precisely so that variable can't override their own ``verify``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response
from simple_salesforce import Salesforce


def is_salesforce_host(host: str) -> bool:
    host = host.lower()
    return host == "salesforce.com" or host.endswith(".salesforce.com")


class EmulatorAdapter(HTTPAdapter):
    """Routes ``https://*.salesforce.com`` to the emulator; other URLs pass unchanged."""

    def __init__(self, target: str, **kwargs: Any) -> None:
        """``target`` is the emulator's ``host:port`` (e.g. ``127.0.0.1:8443``)."""
        self.target = target
        super().__init__(**kwargs)

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        parts = urlsplit(request.url or "")
        if parts.scheme == "https" and is_salesforce_host(parts.hostname or ""):
            request = request.copy()
            # urllib3 keeps an explicit Host header, so the emulator sees which Salesforce
            # host the client meant while the TCP and TLS connection go to the target.
            request.headers["Host"] = parts.netloc.rsplit("@", 1)[-1]
            request.url = urlunsplit(
                ("https", self.target, parts.path, parts.query, parts.fragment)
            )
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


def _target(info: Mapping[str, Any]) -> str:
    parts = urlsplit(str(info["instance_url"]))
    return f"{parts.hostname}:{parts.port or 443}"


def session_for(info: Mapping[str, Any]) -> requests.Session:
    """A requests session that trusts the emulator's CA and reaches it for *.salesforce.com."""
    session = requests.Session()
    session.verify = str(info["ca_bundle"])
    # REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE would otherwise replace `verify` (reference 6.7).
    session.trust_env = False
    session.mount("https://", EmulatorAdapter(_target(info)))
    return session


def connect(info: Mapping[str, Any], **login_kwargs: Any) -> Salesforce:
    """A simple-salesforce client for the emulator described by ``info``.

    Without login arguments: the info file's (admin) access token, directly against the
    emulator's instance URL. With them: a real login through ``EmulatorAdapter``; the
    arguments are simple-salesforce's own (username, password, security_token,
    consumer_key, consumer_secret, privatekey / privatekey_file, domain, instance_url...).
    """
    session = login_kwargs.pop("session", None) or session_for(info)
    version = login_kwargs.pop("version", None) or str(info.get("api_version") or "59.0")
    if not login_kwargs:
        return Salesforce(
            instance_url=str(info["instance_url"]),
            session_id=str(info["access_token"]),
            session=session,
            version=version,
        )
    return Salesforce(session=session, version=version, **login_kwargs)
