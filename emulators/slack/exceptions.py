"""Errors the emulated Web API answers with, using Slack's own codes.

Slack reports API errors as HTTP 200 with ``{"ok": false, "error": "<code>"}`` plus, for some
codes, extra keys (``needed``/``provided`` for ``missing_scope``, ``errors`` and
``response_metadata.messages`` for ``invalid_blocks``). Transport-level answers (429 with
Retry-After, 404 ``unknown_method``) carry their own status.
"""

from __future__ import annotations

from typing import Any


class SlackError(Exception):
    def __init__(
        self, error: str, *, status: int = 200, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}
