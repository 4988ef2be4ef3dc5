"""Column lists and value codes of the event types the emulator writes.

Orders follow real headers where one is known (Login: verbatim from a live file; RestApi:
the live ApexRestApi header minus QUERY; ApiTotalUsage: a published sample) and the common
layout otherwise (EVENT_TYPE, TIMESTAMP, REQUEST_ID, ORGANIZATION_ID, USER_ID, RUN_TIME,
CPU_TIME, URI, SESSION_KEY, LOGIN_KEY, ...type specific..., TIMESTAMP_DERIVED,
USER_ID_DERIVED, CLIENT_IP, URI_ID_DERIVED). Consumers must parse by header name anyway.
"""

from __future__ import annotations

# Free for every Enterprise org (1-day retention); the rest need Event Monitoring / Shield.
FREE_TYPES = frozenset({"ApiTotalUsage", "Login"})
PAID_TYPES = frozenset({"API", "RestApi", "BulkApi", "BulkApi2"})
# Family of an API call -> the paid event type that also records it. A Bulk API 2.0
# request lands in BulkApi2 as its job's state change; whether RestApi logs it too is not
# documented, so the emulator does not.
PAID_TYPE_OF_FAMILY = {"REST": "RestApi", "SOAP": "API", "Bulk": "BulkApi", "Bulk2": "BulkApi2"}
# Family of an API call -> ApiTotalUsage's API_FAMILY, where it differs. Bulk API 2.0 is
# REST resources under /services/data/vXX.X/jobs (unverified: the docs name REST, SOAP and
# Bulk as examples of families, and no sample shows a Bulk API 2.0 row).
FREE_FAMILY = {"Bulk2": "REST"}

# LogFileFieldTypes vocabulary, as seen in EventLogFile rows: String, Id, EscapedString, IP,
# Number, Boolean, Set, DateTime. A column has the same type in every event type, except
# ENTITY_NAME, documented as a Set in ApiTotalUsage.
_TYPE = {
    "ORGANIZATION_ID": "Id",
    "USER_ID": "Id",
    "USER_ID_DERIVED": "Id",
    "URI_ID_DERIVED": "Id",
    "CONNECTED_APP_ID": "Id",
    "JOB_ID": "Id",
    "BATCH_ID": "Id",
    "CLIENT_IP": "IP",
    "SOURCE_IP": "IP",
    "TIMESTAMP_DERIVED": "DateTime",
    "COUNTS_AGAINST_API_LIMIT": "Boolean",
    "SUCCESS": "Boolean",
    "MESSAGE": "EscapedString",
    "API_VERSION": "Number",
    "RUN_TIME": "Number",
    "CPU_TIME": "Number",
    "DB_TOTAL_TIME": "Number",
    "DB_CPU_TIME": "Number",
    "DB_BLOCKS": "Number",
    "STATUS_CODE": "Number",
    "ROWS_PROCESSED": "Number",
    "NUMBER_FIELDS": "Number",
    "NUMBER_FAILURES": "Number",
    "RECORDS_PROCESSED": "Number",
    "RECORDS_FAILED": "Number",
    "RESULT_SIZE_MB": "Number",
    "REQUEST_SIZE": "Number",
    "RESPONSE_SIZE": "Number",
}

_PREFIX = ("EVENT_TYPE", "TIMESTAMP", "REQUEST_ID", "ORGANIZATION_ID", "USER_ID")
_COMMON = (*_PREFIX, "RUN_TIME", "CPU_TIME", "URI", "SESSION_KEY", "LOGIN_KEY")
_SUFFIX = ("TIMESTAMP_DERIVED", "USER_ID_DERIVED", "CLIENT_IP", "URI_ID_DERIVED")

COLUMNS: dict[str, tuple[str, ...]] = {
    # No USER_ID_DERIVED, no URI, no query text (reference 2.4).
    "ApiTotalUsage": (
        *_PREFIX,
        "API_FAMILY",
        "API_VERSION",
        "API_RESOURCE",
        "CLIENT_NAME",
        "HTTP_METHOD",
        "CLIENT_IP",
        "COUNTS_AGAINST_API_LIMIT",
        "CONNECTED_APP_ID",
        "ENTITY_NAME",
        "STATUS_CODE",
        "CONNECTED_APP_NAME",
        "USER_NAME",
        "TIMESTAMP_DERIVED",
    ),
    "RestApi": (
        *_COMMON,
        "USER_TYPE",
        "REQUEST_STATUS",
        "DB_TOTAL_TIME",
        "METHOD",
        "MEDIA_TYPE",
        "STATUS_CODE",
        "USER_AGENT",
        "ROWS_PROCESSED",
        "NUMBER_FIELDS",
        "DB_BLOCKS",
        "DB_CPU_TIME",
        "REQUEST_SIZE",
        "RESPONSE_SIZE",
        "ENTITY_NAME",
        "CONNECTED_APP_ID",
        "CLIENT_NAME",
        "EXCEPTION_MESSAGE",
        *_SUFFIX,
    ),
    "API": (
        *_COMMON,
        "USER_TYPE",
        "REQUEST_STATUS",
        "DB_TOTAL_TIME",
        "API_TYPE",
        "API_VERSION",
        "CLIENT_NAME",
        "METHOD_NAME",
        "ENTITY_NAME",
        "ROWS_PROCESSED",
        "REQUEST_SIZE",
        "RESPONSE_SIZE",
        "DB_BLOCKS",
        "DB_CPU_TIME",
        "QUERY",
        "EXCEPTION_MESSAGE",
        *_SUFFIX,
    ),
    "BulkApi": (
        *_COMMON,
        "JOB_ID",
        "BATCH_ID",
        "ROWS_PROCESSED",
        "NUMBER_FAILURES",
        "SUCCESS",
        "MESSAGE",
        "ENTITY_TYPE",
        "OPERATION_TYPE",
        *_SUFFIX,
    ),
    # One event per job state change (reference 2.4; no live header published).
    "BulkApi2": (
        *_COMMON,
        "JOB_ID",
        "JOB_STATUS",
        "OPERATION_TYPE",
        "ENTITY_TYPE",
        "RECORDS_PROCESSED",
        "RECORDS_FAILED",
        "RESULT_SIZE_MB",
        *_SUFFIX,
    ),
    # Verbatim from a live file (reference 2.5).
    "Login": (
        *_COMMON,
        "USER_TYPE",
        "REQUEST_STATUS",
        "DB_TOTAL_TIME",
        "LOGIN_TYPE",
        "BROWSER_TYPE",
        "API_TYPE",
        "API_VERSION",
        "USER_NAME",
        "TLS_PROTOCOL",
        "CIPHER_SUITE",
        "AUTHENTICATION_METHOD_REFERENCE",
        "LOGIN_SUB_TYPE",
        *_SUFFIX,
        "LOGIN_STATUS",
        "SOURCE_IP",
    ),
}


def field_types(event_type: str) -> tuple[str, ...]:
    types = []
    for name in COLUMNS[event_type]:
        if name == "ENTITY_NAME" and event_type == "ApiTotalUsage":
            types.append("Set")
        else:
            types.append(_TYPE.get(name, "String"))
    return tuple(types)


def column_index(event_type: str) -> dict[str, int]:
    return {name: i for i, name in enumerate(COLUMNS[event_type])}


# LoginHistory.LoginType label -> Login LOGIN_TYPE code (reference 2.5).
LOGIN_TYPE_CODES = {
    "AppExchange": "7",
    "Application": "A",
    "Certificate-based login": "s",
    "Chatter Communities External User": "k",
    "Chatter Communities External User Third Party SSO": "n",
    "Employee Login to Community": "r",
    "Lightning Login": "z",
    "Networks Portal API Only": "l",
    "Remote Access Client": "6",
    "Passwordless Login": "w",
    "Customer Service Portal": "3",
    "Partner Portal Third-Party SSO": "q",
    "Partner Portal": "9",
    "SAML Idp Initiated SSO": "5",
    "SAML Sfdc Initiated SSO": "8",
    "Self-Service": "E",
    "Third Party SSO": "j",
    "Remote Access 2.0": "i",
    "Other Apex API": "I",
    "Partner Product": "R",
}

# LoginHistory.LoginSubType label -> LOGIN_SUB_TYPE code. JWT bearer has no sub type.
LOGIN_SUB_TYPE_CODES = {
    "OAuth Client Credentials": "oauthclientcredential",
    "OAuth Username-Password": "oauthpassword",
    "OAuth Web Server": "oauthcode",
    "OAuth Hybrid Web Server": "oauthhybridauthcode",
    "OAuth Hybrid User-Agent": "oauthhybridtoken",
    "OAuth User-Agent": "oauthtoken",
    "OAuth User-Agent Id Token": "oauthtokenidtoken",
    "OAuth Refresh Token": "oauthrefreshtoken",
    "OAuth JWT Bearer": "",
    "UsernamePasswordUiLogin": "uiup",
    "UiPasswordReset": "uipwdrst",
}

# LoginHistory.Status text -> LOGIN_STATUS code (reference 2.5; ObjRef LOGIN_STATUS table).
LOGIN_STATUS_CODES = {
    "Success": "LOGIN_NO_ERROR",
    "Invalid Password": "LOGIN_ERROR_INVALID_PASSWORD",
    "Invalid login": "LOGIN_ERROR_INVALID_USERNAME",
    "Failed: API security token required": "LOGIN_ERROR_MUST_USE_API_TOKEN",
    "Failed: API-only user": "LOGIN_ERROR_USER_API_ONLY",
    "User is inactive": "LOGIN_ERROR_USER_INACTIVE",
    "User is Inactive": "LOGIN_ERROR_USER_INACTIVE",
    "User is frozen": "LOGIN_ERROR_USER_FROZEN",
    "User Is Frozen": "LOGIN_ERROR_USER_FROZEN",
    "Restricted IP": "LOGIN_ERROR_RESTRICTED_DOMAIN",
    "Login rate exceeded": "LOGIN_ERROR_RATE_EXCEEDED",
    "Password Lockout": "LOGIN_ERROR_PASSWORD_LOCKOUT",
    "Failed: Signature Invalid": "LOGIN_OAUTH_INVALID_DSIG",
    "Failed: Invalid Nonce": "LOGIN_OAUTH_INVALID_NONCE",
    "Failed: Invalid IP": "LOGIN_OAUTH_INVALID_IP",
    "Failed: Consumer Deleted": "LOGIN_OAUTH_CONSUMER_DELETED",
    "Failed: Computer activation required": "LOGIN_CHALLENGE_ISSUED",
}

# LoginHistory.ApiType label -> API_TYPE code (shared with the API event type).
API_TYPE_CODES = {
    "Apex Class": "D",
    "SOAP Enterprise": "E",
    "SOAP Metadata": "M",
    "SOAP Partner": "P",
    "SOAP Apex": "S",
    "SOAP Tooling": "T",
    "Feed": "f",
    "Live Agent": "l",
    "SOAP ClientSync": "p",
}

# SOAP endpoint letter (/services/Soap/<x>/59.0) -> API_TYPE code.
SOAP_ENDPOINT_API_TYPE = {"u": "P", "c": "E", "m": "M", "T": "T", "s": "S", "class": "D"}

# ApiCall.operation / SOAP method -> METHOD_NAME as recorded (insert, query_all, describes...).
SOAP_METHOD_NAMES = {
    "create": "insert",
    "queryAll": "query_all",
    "queryMore": "query_more",
    "describeGlobal": "describe",
    "describeSObjects": "describes",
    "describeSObject": "describes",
    "describe": "describes",
    "getUserInfo": "get_user_info",
    "getServerTimestamp": "get_server_timestamp",
}

# Bulk operation -> OPERATION_TYPE as recorded.
BULK_OPERATION_TYPES = {"create": "insert", "queryAll": "queryAll"}
