"""handover's Slack side: messages rendered from templates and posted with slack_sdk.

``build_client`` makes the one WebClient configuration (base_url, rate-limit retries) from
``SlackSettings``; ``post_digest`` posts the discovery digest and never lets a Slack failure
fail discovery. Approval gates will live here too.
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
