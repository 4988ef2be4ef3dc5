"""The one place handover builds a slack_sdk WebClient and reads slack_sdk's failures.

Built from ``SlackSettings`` (never from the environment): the token, and the ``base_url``
that points at slack.com or at the bundled emulator. slack_sdk's default retry handlers only
cover connection resets; the rate-limit handler is added so a 429 waits ``Retry-After`` and
tries again instead of failing a digest or an approval on a busy workspace.
"""

from __future__ import annotations

from urllib.error import HTTPError, URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from handover.errors import ConfigError
from handover.settings import SlackSettings

DEFAULT_TIMEOUT = 15  # seconds per HTTP call; slack_sdk takes whole seconds
RATE_LIMIT_RETRIES = 2  # each waits Retry-After (Slack's tier limits reset within a minute)


def build_client(
    settings: SlackSettings,
    *,
    timeout: int = DEFAULT_TIMEOUT,
    rate_limit_retries: int = RATE_LIMIT_RETRIES,
) -> WebClient:
    """A WebClient for ``settings``; raises ConfigError when no token is set."""
    if settings.token is None:
        raise ConfigError(
            "Slack is not configured: set HANDOVER_SLACK__TOKEN (a bot token, xoxb-...) "
            "and HANDOVER_SLACK__CHANNEL, or leave both unset to skip Slack."
        )
    return WebClient(
        token=settings.token.get_secret_value(),
        base_url=settings.base_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        ],
    )


def error_code(exc: BaseException) -> str:
    """A short, token-free code for a failed Slack call: Slack's own error code when Slack
    answered (``channel_not_found``, ``ratelimited``), else what kept the answer away
    (``http_503``, ``connection_error``, ``timeout``)."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        data = response.data if isinstance(response.data, dict) else {}
        code = data.get("error")
        if code and response.status_code in (200, 429):
            return str(code)
        return f"http_{response.status_code}"
    if isinstance(exc, HTTPError):
        return f"http_{exc.code}"
    if isinstance(exc, TimeoutError) or "timed out" in str(getattr(exc, "reason", "")):
        return "timeout"
    if isinstance(exc, URLError | ConnectionError):
        return "connection_error"
    if isinstance(exc, SlackClientError):
        return "client_error"
    return type(exc).__name__


_HINTS = {
    "not_authed": "set HANDOVER_SLACK__TOKEN to the app's bot token (xoxb-...)",
    "invalid_auth": "HANDOVER_SLACK__TOKEN is not a valid token for this workspace",
    "token_revoked": "the bot token was revoked; reinstall the app and update HANDOVER_SLACK__TOKEN",
    "account_inactive": "the app's bot user is deactivated; reinstall the app",
    "missing_scope": "add the missing scope to the Slack app and reinstall it",
    "channel_not_found": "check HANDOVER_SLACK__CHANNEL; a private channel needs the bot invited",
    "not_in_channel": "invite the bot to the channel (/invite @handover)",
    "is_archived": "the channel is archived; point HANDOVER_SLACK__CHANNEL at a live one",
    "ratelimited": "Slack kept rate-limiting after the retries; the next run will post again",
    "connection_error": "Slack could not be reached; check HANDOVER_SLACK__BASE_URL and the network",
    "timeout": "Slack did not answer in time",
}


def failure_hint(code: str) -> str:
    """The "(what to do next)" suffix for a code from ``error_code``; "" if none applies."""
    hint = _HINTS.get(code) or (
        "Slack had a server error; it usually passes" if code.startswith("http_5") else ""
    )
    return f" ({hint})" if hint else ""


# What a Slack call may raise that must not take a flow down with it.
SLACK_FAILURES: tuple[type[BaseException], ...] = (SlackClientError, URLError, OSError)
