"""SOAP routes: the partner endpoint's login() (/services/Soap/u/{version}) and the Metadata
API (/services/Soap/m/{version}) as simple-salesforce's ``sf.mdapi`` (zeep, metadata.wsdl
v63) speaks it: readMetadata, updateMetadata and upsertMetadata of ConnectedApp.

Requests are parsed with the stdlib XML parser by local name, so any prefixes work; the
responses copy the real envelopes (loginResponse as recorded in the grouparoo fixture).
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import auth, metadata
from ..eventlog.events import ApiCall
from ..exceptions import SalesforceError, SoapFault
from ..org import CallContext
from ..sessions import SESSION_SECONDS
from .common import Emulator, client_ip, new_request_id
from .oauth import instance_url, login_request

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PARTNER = "urn:partner.soap.sforce.com"
PARTNER_FAULT = "urn:fault.partner.soap.sforce.com"
MDAPI = "http://soap.sforce.com/2006/04/metadata"
_VERSION = re.compile(r"^(\d{2})\.0$")
# login() exists up to API 64.0 (reference fact 8); versions before 31.0 are retired.
_LOGIN_VERSIONS = range(31, 65)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    if el is None:
        return None
    return next((c for c in el if _local(c.tag) == name), None)


def _text(el: ET.Element | None, name: str) -> str | None:
    c = _child(el, name)
    return (c.text or "") if c is not None else None


def _envelope(body: str, ns: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ENV}" xmlns="{ns}" xmlns:xsi="{XSI}"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>'


def _xml(text: str, status: int = 200) -> Response:
    return Response(text, status_code=status, media_type="text/xml; charset=utf-8")


def _fault(f: SoapFault, fault_ns: str, detail: str | None) -> Response:
    """A SOAP 1.1 fault. ``detail`` names the sf: detail element (LoginFault for login)."""
    code = f.code if ":" in f.code else f"sf:{f.code}"
    faultstring = f.message if ":" in f.code else f"{f.code}: {f.message}"
    detail_xml = ""
    if detail:
        detail_xml = (
            f'<detail><sf:{detail} xsi:type="sf:{detail}"><sf:exceptionCode>{escape(f.code)}</sf:exceptionCode>'
            f"<sf:exceptionMessage>{escape(f.message)}</sf:exceptionMessage></sf:{detail}></detail>"
        )
    body = f"<soapenv:Fault><faultcode>{escape(code)}</faultcode><faultstring>{escape(faultstring)}</faultstring>{detail_xml}</soapenv:Fault>"
    text = f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ENV}" xmlns:sf="{fault_ns}" xmlns:xsi="{XSI}"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>'
    return _xml(text, f.status)


def _parse(raw: bytes) -> tuple[ET.Element | None, ET.Element]:
    """(Header, the Body's operation element) or a client fault."""
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:
        raise SoapFault(
            "soapenv:Client", "Unable to parse the request as a SOAP envelope", 500
        ) from None
    body = _child(root, "Body")
    op = next(iter(body), None) if body is not None else None
    if _local(root.tag) != "Envelope" or op is None:
        raise SoapFault(
            "soapenv:Client", "Unable to find a SOAP Body operation in the request", 500
        )
    return _child(root, "Header"), op


def _server_host(emu: Emulator, request: Request) -> str:
    """The host serverUrl names: one the client maps back to the emulator (the My Domain for
    clients that came through the adapter, else the Host they used, port included)."""
    instance = instance_url(emu, request)
    if instance != emu.instance_url:
        return instance.removeprefix("https://")
    return request.headers.get("host") or instance.removeprefix("https://")


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return escape(str(v))


def render(name: str, value: Any) -> str:
    """A component dict as XML elements (lists repeat the element; None is omitted)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "".join(render(name, v) for v in value)
    if isinstance(value, dict):
        return f"<{name}>{''.join(render(k, v) for k, v in value.items())}</{name}>"
    return f"<{name}>{_value(value)}</{name}>"


def to_dict(el: ET.Element) -> Any:
    """An element as a dict by local name; repeated elements become lists; xsi:nil is None."""
    if el.get(f"{{{XSI}}}nil") == "true":
        return None
    children = list(el)
    if not children:
        return el.text or ""
    out: dict[str, Any] = {}
    for c in children:
        key, value = _local(c.tag), to_dict(c)
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


def _login_response(
    emu: Emulator, request: Request, session_token: str, user: dict, version: str
) -> str:
    org = emu.org
    host = _server_host(emu, request)
    oid15 = org.org_id[:15]
    org_row = org.table("Organization").get(org.org_id) or {}
    info = {
        "accessibilityMode": False,
        "chatterExternal": False,
        "currencySymbol": "$",
        "orgAttachmentFileSizeLimit": 26214400,
        "orgDefaultCurrencyIsoCode": "USD",
        "orgDefaultCurrencyLocale": "en_US",
        "orgDisallowHtmlAttachments": False,
        "orgHasPersonAccounts": False,
        "organizationId": org.org_id,
        "organizationMultiCurrency": False,
        "organizationName": org.name,
        "profileId": user["ProfileId"],
    }
    nil = '<roleId xsi:nil="true"/>'
    tail = {
        "sessionSecondsValid": SESSION_SECONDS,
        "userDefaultCurrencyIsoCode": None,
        "userEmail": user.get("Email"),
        "userFullName": user.get("Name") or user["LastName"],
        "userId": user["Id"],
        "userLanguage": user.get("LanguageLocaleKey") or "en_US",
        "userLocale": user.get("LocaleSidKey") or "en_US",
        "userName": user["Username"],
        "userTimeZone": user.get("TimeZoneSidKey") or "GMT",
        "userType": user.get("UserType") or "Standard",
        "userUiSkin": "Theme3",
    }
    user_info = "".join(render(k, v) for k, v in info.items()) + nil
    user_info += "".join(
        render(k, v) if v is not None else f'<{k} xsi:nil="true"/>' for k, v in tail.items()
    )
    result = (
        f"<metadataServerUrl>https://{escape(host)}/services/Soap/m/{version}/{oid15}</metadataServerUrl>"
        f"<passwordExpired>false</passwordExpired><sandbox>{_value(bool(org_row.get('IsSandbox')))}</sandbox>"
        f"<serverUrl>https://{escape(host)}/services/Soap/u/{version}/{oid15}</serverUrl>"
        f"<sessionId>{escape(session_token)}</sessionId><userId>{user['Id']}</userId><userInfo>{user_info}</userInfo>"
    )
    return _envelope(f"<loginResponse><result>{result}</result></loginResponse>", PARTNER)


def _metadata_ops(emu: Emulator, ctx: CallContext, op: ET.Element) -> str:
    """The readMetadata / updateMetadata / upsertMetadata response body element."""
    org = emu.org
    name = _local(op.tag)
    if name in ("readMetadata", "updateMetadata", "upsertMetadata"):
        metadata.require_metadata_access(ctx)
    if name == "readMetadata":
        mtype = _text(op, "type") or ""
        if mtype != "ConnectedApp":
            raise SoapFault(
                "INVALID_TYPE", f"The emulator's Metadata API models only ConnectedApp, not {mtype}"
            )
        records = ""
        for c in op:
            if _local(c.tag) == "fullNames":
                comp = metadata.read_connected_app(org, c.text or "")
                if comp is None:
                    records += '<records xsi:nil="true"/>'
                else:
                    inner = "".join(render(k, v) for k, v in comp.items())
                    records += f'<records xsi:type="ConnectedApp">{inner}</records>'
        return f"<readMetadataResponse><result>{records}</result></readMetadataResponse>"
    if name in ("updateMetadata", "upsertMetadata"):
        results = ""
        for c in op:
            if _local(c.tag) != "metadata":
                continue
            xsi_type = (c.get(f"{{{XSI}}}type") or "").rsplit(":", 1)[-1]
            if xsi_type != "ConnectedApp":
                raise SoapFault(
                    "INVALID_TYPE",
                    f"The emulator's Metadata API models only ConnectedApp, not {xsi_type}",
                )
            comp = to_dict(c)
            comp = comp if isinstance(comp, dict) else {}
            fn = (
                metadata.update_connected_app
                if name == "updateMetadata"
                else metadata.upsert_connected_app
            )
            results += _save_result(fn(org, ctx, comp), upsert=name == "upsertMetadata")
        return f"<{name}Response>{results}</{name}Response>"
    raise SoapFault(
        "soapenv:Client",
        f"No operation available for request {{{MDAPI}}}{name}, please check the WSDL for the service.",
    )


def _save_result(r: metadata.SaveResult, *, upsert: bool) -> str:
    out = f"<created>{_value(r.created)}</created>" if upsert else ""
    for e in r.errors:
        out += (
            "<errors>"
            + render("fields", e.fields)
            + render("message", e.message)
            + render("statusCode", e.status_code)
            + "</errors>"
        )
    out += render("fullName", r.full_name) + render("success", r.success)
    return f"<result>{out}</result>"


def routes(emu: Emulator) -> list[Route]:
    org = emu.org

    async def partner(request: Request) -> Response:
        raw = await request.body()
        version = request.path_params["version"]
        req = login_request(request)

        def run() -> Response:
            detail = "LoginFault"
            try:
                header, op = _parse(raw)
                if _local(op.tag) != "login":
                    detail = "UnexpectedErrorFault"
                    # Only login() is served on the partner endpoint. (fault text unverified)
                    raise SoapFault(
                        "UNKNOWN_EXCEPTION",
                        f"The emulator's partner API implements login() only, not {_local(op.tag)}()",
                    )
                m = _VERSION.match(version)
                if m is None or int(m.group(1)) not in _LOGIN_VERSIONS:
                    raise SoapFault(
                        "UNSUPPORTED_API_VERSION",
                        f"login() is not available in API version {version}",
                    )  # (unverified)
                client = _text(_child(header, "CallOptions"), "client") or None
                session = auth.soap_login(
                    org,
                    _text(op, "username") or "",
                    _text(op, "password") or "",
                    client,
                    version,
                    req,
                )
            except SoapFault as f:
                return _fault(f, PARTNER_FAULT, detail if ":" not in f.code else None)
            user = org.table("User")[session.user_id]
            return _xml(_login_response(emu, request, session.token, user, version))

        return await run_in_threadpool(run)

    async def mdapi(request: Request) -> Response:
        raw = await request.body()
        version = request.path_params["version"]

        def run() -> Response:
            started = time.perf_counter()
            try:
                header, op = _parse(raw)
                token = _text(_child(header, "SessionHeader"), "sessionId") or ""
                try:
                    session = org.authenticate(token)
                    ctx = org.context(
                        session,
                        client_ip=client_ip(request),
                        user_agent=request.headers.get("user-agent", ""),
                    )
                except SalesforceError as e:
                    if e.error_code == "INVALID_SESSION_ID":
                        raise SoapFault(
                            "INVALID_SESSION_ID",
                            "Invalid Session ID found in SessionHeader: Illegal Session",
                        ) from None
                    raise SoapFault(e.error_code, e.message) from None
                ctx.client_name = _text(_child(header, "CallOptions"), "client") or None
                ctx.api_family, ctx.api_version = "SOAP", version
                if not org.api_counter.try_consume(org.clock.now().date(), session.app_name):
                    raise SoapFault("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            except SoapFault as f:
                return _fault(f, MDAPI, None)
            try:
                response = _xml(_envelope(_metadata_ops(emu, ctx, op), MDAPI))
            except SoapFault as f:
                response = _fault(f, MDAPI, None)
            _record_call(emu, request, ctx, _local(op.tag), version, response.status_code, started)
            return response

        return await run_in_threadpool(run)

    return [
        Route("/services/Soap/u/{version}", partner, methods=["POST"]),
        Route("/services/Soap/u/{version}/{rest:path}", partner, methods=["POST"]),
        Route("/services/Soap/m/{version}", mdapi, methods=["POST"]),
        Route("/services/Soap/m/{version}/{rest:path}", mdapi, methods=["POST"]),
    ]


def _record_call(
    emu: Emulator,
    request: Request,
    ctx: CallContext,
    method: str,
    version: str,
    status: int,
    started: float,
) -> None:
    """Metadata API calls count against the daily limit and appear in the API logs."""
    session = ctx.session
    emu.org.record_call(
        ApiCall(
            timestamp=emu.org.clock.now(),
            request_id=new_request_id(),
            user_id=session.user_id,
            username=ctx.user["Username"],
            session_key=session.session_key,
            login_key=session.login_key,
            api_family="SOAP",
            api_version=version,
            api_resource=method,
            http_method="POST",
            uri=request.url.path,
            entity_name=None,
            operation="other",
            status_code=status,
            client_ip=ctx.client_ip,
            client_name=ctx.client_name or session.client_name,
            connected_app_id=session.app_id,
            connected_app_name=session.app_name,
            user_agent=ctx.user_agent,
            counts_against_limit=True,
            run_time_ms=int((time.perf_counter() - started) * 1000),
        )
    )
