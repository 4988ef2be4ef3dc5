"""Retry policy of the I/O tasks: transient Salesforce errors (and an org that does not
answer) are retried with exponential back-off and jitter; everything else fails at once
with its clear message."""

from __future__ import annotations

from typing import Any

from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from handover.errors import OrgUnreachable, TransientSalesforceError
from handover.settings import Settings


def is_transient(task: Any, task_run: Any, state: Any) -> bool:
    try:
        state.result(raise_on_failure=True)
    except (TransientSalesforceError, OrgUnreachable):
        # An org that does not answer at all may be a network blip inside a run: retried,
        # and reported as unreachable (not as a transient error) when it stays so.
        return True
    except Exception:
        return False
    return False


def io_options(settings: Settings) -> dict[str, Any]:
    """Options for a task that talks to Salesforce (``task.with_options(**io_options(s))``)."""
    return {
        "retries": settings.salesforce.retries,
        "retry_delay_seconds": exponential_backoff(
            backoff_factor=settings.salesforce.retry_base_delay_seconds
        ),
        "retry_jitter_factor": 0.5,
        "retry_condition_fn": is_transient,
        "cache_policy": NO_CACHE,
        "persist_result": False,
    }
