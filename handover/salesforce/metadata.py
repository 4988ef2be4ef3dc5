"""A connected app's OAuth settings changed through the Metadata API as a read-modify-write
of the whole component: readMetadata, change one element of ``oauthConfig`` and nothing
else (the client-credentials Run-As user at a cutover; the certificate or the consumer
secret at a rotation after an emergency revoke), updateMetadata of what was read.

updateMetadata replaces the whole component (omitted pre-authorized profiles and
permission sets lose their access), so what goes back is the element as read, every
other value untouched. The consumer secret is never part of a read; an update without it
keeps the app's secret (as the emulator models it; unverified against a real org).

Raw SOAP over the gateway's own session, not ``sf.mdapi``: zeep builds its own requests
session (reference §6.6), which would bypass the session's TLS trust and transport.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

from ..errors import SalesforceGatewayError
from .gateway import SalesforceGateway
from .translate import soap_fault, translated, write_error

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MDAPI = "http://soap.sforce.com/2006/04/metadata"
RUN_AS = "oauthClientCredentialUser"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    if el is None:
        return None
    return next((c for c in el if _local(c.tag) == name), None)


def _text(el: ET.Element | None, name: str) -> str | None:
    c = _child(el, name)
    return (c.text or "") if c is not None else None


def _bare(el: ET.Element) -> ET.Element:
    """A copy of ``el`` with namespaces dropped from its tags, so it serializes as plain
    elements that take the envelope's default (metadata) namespace."""
    out = ET.Element(_local(el.tag))
    out.text, out.tail = el.text, None
    for c in el:
        copy = _bare(c)
        copy.tail = None
        out.append(copy)
    return out


def api_names(app_name: str) -> list[str]:
    """The component names to ask for: the connected app's API name is its name with
    spaces and punctuation as underscores (unverified for every name), and the name itself."""
    derived = re.sub(r"[^A-Za-z0-9]+", "_", app_name).strip("_")
    return list(dict.fromkeys([derived, app_name]))


class ConnectedApps:
    def __init__(self, gateway: SalesforceGateway) -> None:
        self.gateway = gateway
        self._sf = gateway.raw()

    def _call(self, operation: str, body: str, *, what: str) -> ET.Element:
        """One Metadata API call; the Body's response element, or a translated fault."""
        envelope = (
            f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ENV}" '
            f'xmlns:xsi="{XSI}" xmlns="{MDAPI}"><soapenv:Header><SessionHeader><sessionId>'
            f"{escape(self._sf.session_id)}</sessionId></SessionHeader></soapenv:Header>"
            f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
        )
        url = f"https://{self._sf.sf_instance}/services/Soap/m/{self._sf.sf_version}"
        with translated(what):
            self.gateway.api_calls += 1
            resp = self._sf.session.post(
                url,
                data=envelope.encode(),
                headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": operation},
            )
        try:
            root = ET.fromstring(resp.content)
        except ET.ParseError:
            raise SalesforceGatewayError(
                f"{what}: the Metadata API answered HTTP {resp.status_code} with no SOAP "
                "envelope; check the org's URL and API version."
            ) from None
        body_el = _child(root, "Body")
        fault = _child(body_el, "Fault")
        if fault is not None:
            raise soap_fault(
                what, _text(fault, "faultcode") or "", _text(fault, "faultstring") or ""
            )
        response = next(iter(body_el), None) if body_el is not None else None
        if response is None:
            raise SalesforceGatewayError(f"{what}: an empty Metadata API answer")
        return response

    def read(self, app_name: str) -> ET.Element:
        """The ConnectedApp component as read (the ``records`` element)."""
        what = f"reading connected app {app_name} (Metadata API)"
        names = "".join(f"<fullNames>{escape(n)}</fullNames>" for n in api_names(app_name))
        response = self._call(
            "readMetadata",
            f"<readMetadata><type>ConnectedApp</type>{names}</readMetadata>",
            what=what,
        )
        result = _child(response, "result")
        for rec in result if result is not None else []:
            if _local(rec.tag) == "records" and rec.get(f"{{{XSI}}}nil") != "true" and len(rec):
                return rec
        raise SalesforceGatewayError(
            f"{what}: the org has no connected app {app_name!r} (tried "
            f"{', '.join(api_names(app_name))}). Check the app's API name in Setup > App "
            "Manager."
        )

    def run_as(self, app_name: str) -> dict[str, Any]:
        """The app's client-credentials settings: {"fullName", "isClientCredentialEnabled",
        "oauthClientCredentialUser"} (None when no Run-As user is set)."""
        component = self.read(app_name)
        oauth = _child(component, "oauthConfig")
        return {
            "fullName": _text(component, "fullName") or app_name,
            "isClientCredentialEnabled": _text(oauth, "isClientCredentialEnabled") == "true",
            RUN_AS: _text(oauth, RUN_AS) or None,
        }

    def certificate(self, app_name: str) -> str | None:
        """The certificate JWT assertions are checked against (PEM), None when none."""
        return _text(_child(self.read(app_name), "oauthConfig"), "certificate") or None

    def set_run_as(self, app_name: str, username: str) -> None:
        """Re-point the app's Run-As user; every other setting goes back as read."""
        what = f"changing the Run-As user of connected app {app_name} (Metadata API)"
        component = _bare(self.read(app_name))
        oauth = _child(component, "oauthConfig")
        user = _child(oauth, RUN_AS)
        enabled = _child(oauth, "isClientCredentialEnabled")
        if oauth is None or user is None or enabled is None or enabled.text != "true":
            raise SalesforceGatewayError(
                f"{what}: the app has no client credentials flow enabled, so it has no Run-As "
                "user to change. The cutover route does not fit this app: plan again."
            )
        user.text = username
        self._update(component, what=what)

    def set_certificate(self, app_name: str, certificate_pem: str) -> None:
        """Replace the certificate JWT bearer assertions are checked against ("Use digital
        signatures"): a key signed by the old certificate no longer logs in."""
        what = f"replacing the certificate of connected app {app_name} (Metadata API)"
        self._set_oauth(app_name, "certificate", certificate_pem, after="callbackUrl", what=what)

    def set_consumer_secret(self, app_name: str, secret: str) -> None:
        """Replace the consumer secret (write-only: never read back). The secret is sent in
        the request body only; errors name the app, never the value."""
        what = f"replacing the consumer secret of connected app {app_name} (Metadata API)"
        self._set_oauth(app_name, "consumerSecret", secret, after="consumerKey", what=what)

    def _set_oauth(self, app_name: str, element: str, value: str, *, after: str, what: str) -> None:
        component = _bare(self.read(app_name))
        oauth = _child(component, "oauthConfig")
        if oauth is None:
            raise SalesforceGatewayError(
                f"{what}: the app has no OAuth settings; it cannot have been used by an "
                "integration through OAuth. Check the app's name."
            )
        node = _child(oauth, element)
        if node is None:
            # The WSDL's element order: the new element goes right after its predecessor.
            node = ET.Element(element)
            anchor = _child(oauth, after)
            index = list(oauth).index(anchor) + 1 if anchor is not None else 0
            oauth.insert(index, node)
        node.text = value
        self._update(component, what=what)

    def _update(self, component: ET.Element, *, what: str) -> None:
        inner = "".join(ET.tostring(c, encoding="unicode") for c in component)
        response = self._call(
            "updateMetadata",
            f'<updateMetadata><metadata xsi:type="ConnectedApp">{inner}</metadata>'
            "</updateMetadata>",
            what=what,
        )
        result = _child(response, "result")
        success = _child(result, "success")
        if success is None or success.text != "true":
            errors = [
                {"statusCode": _text(e, "statusCode") or "UNKNOWN", "message": _text(e, "message")}
                for e in (result if result is not None else [])
                if _local(e.tag) == "errors"
            ]
            raise write_error(what, errors)
