"""handover's Slack side: messages rendered from templates and posted with slack_sdk.

``build_client`` makes the one WebClient configuration (base_url, rate-limit retries) from
``SlackSettings``; ``post_digest`` posts the discovery digest and never lets a Slack failure
fail discovery. Approval gates: ``gates`` (the messages, ``open_gate``), ``gatebook`` (gate
state behind the ``GateBook`` port), ``rules`` (who may decide, pure), ``desk`` (the click
handlers), ``reaper`` (expiry, redelivery, wake-ups), ``runs`` (Prefect's REST API) and
``approvals`` (the ASGI service). ``gateway`` and ``translate`` are the Slack edge,
``blockkit`` the one Block Kit checker. Import those modules directly: this package's
namespace stays light for discovery.
"""

from .client import build_client, error_code, failure_hint
from .digest import DigestResult, RenderedMessage, digest_findings, post_digest, render_digest

__all__ = [
    "DigestResult",
    "RenderedMessage",
    "build_client",
    "digest_findings",
    "error_code",
    "failure_hint",
    "post_digest",
    "render_digest",
]
