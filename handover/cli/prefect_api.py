"""The Prefect server of the stack, seen from the CLI: is it healthy, the work pool, the
worker, and the runs of the `migrate` deployment (create, read, mark crashed).

Every call names the server explicitly (``temporary_settings``), so nothing depends on
which Prefect profile the shell has, and nothing ever starts a temporary server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from uuid import UUID

import httpx

from handover.errors import ConfigError, PrefectApiError

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun

MIGRATE_DEPLOYMENT = "migrate/migrate"  # flow name / deployment name (prefect.yaml)
TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED", "CRASHED"})


@contextmanager
def client(api_url: str) -> Iterator[SyncPrefectClient]:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as c:
        yield c


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        response = httpx.get(api_url.rstrip("/") + "/health", timeout=timeout)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.text.strip() == "true"


def ui_url(api_url: str) -> str:
    """The UI is served by the same server, at the API's root."""
    return api_url.rstrip("/").removesuffix("/api")


def run_url(ui: str, flow_run_id: str | UUID) -> str:
    return f"{ui.rstrip('/')}/runs/flow-run/{flow_run_id}"


def ensure_pool(api_url: str, name: str) -> bool:
    """The process work pool ``name``, its flow runs started with this Python's
    ``-m prefect.engine``; True when it had to be created."""
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with client(api_url) as c:
        try:
            pool = c.read_work_pool(name)
        except ObjectNotFound:
            try:
                c.create_work_pool(
                    WorkPoolCreate(name=name, type="process", base_job_template=job_template())
                )
            except ObjectAlreadyExists:  # created by someone else meanwhile: fine
                return False
            return True
        if pool.type != "process":
            raise ConfigError(
                f"the work pool {name!r} on {api_url} is of type {pool.type!r}, not 'process'; "
                "delete it in the Prefect UI or set HANDOVER_STACK__WORK_POOL to another name"
            )
        command = pool.base_job_template.get("variables", {}).get("properties", {}).get("command")
        if isinstance(command, dict) and command.get("default") is None:  # never one set by hand
            c.update_work_pool(name, WorkPoolUpdate(base_job_template=job_template()))
    return False


def job_template() -> dict[str, Any]:
    """Prefect's process job template, the flow run's command set: without one, the
    worker starts each run through a workspace supervisor, a second Python process that
    imports Prefect before the run's own does (seconds at every gate's resume)."""
    import shlex
    import sys

    from prefect.workers.process import ProcessWorker

    template = ProcessWorker.get_default_base_job_template()
    command = template["variables"]["properties"]["command"]
    command["default"] = f"{shlex.quote(sys.executable)} -m prefect.engine"
    return template


def worker_online(api_url: str, pool: str, name: str | None = None) -> bool:
    """A worker of ``pool`` (the one called ``name``, if given) has sent a heartbeat and
    counts as online."""
    try:
        with client(api_url) as c:
            workers = c.read_workers_for_work_pool(pool)
    except Exception:  # not reachable yet: asked again
        return False
    return any(
        str(w.status).upper().endswith("ONLINE") and (name is None or w.name == name)
        for w in workers
    )


def create_run(api_url: str, deployment: str, parameters: dict[str, Any]) -> FlowRun:
    """A new run of ``deployment`` (flow/deployment); the worker picks it up."""
    from prefect.exceptions import ObjectNotFound

    with client(api_url) as c:
        try:
            found = c.read_deployment_by_name(deployment)
        except ObjectNotFound:
            raise ConfigError(
                f"the Prefect server at {api_url} has no deployment {deployment!r}; "
                "`handover down` then `handover up` registers it (prefect.yaml)"
            ) from None
        return c.create_flow_run_from_deployment(found.id, parameters=parameters)


def read_run(api_url: str, flow_run_id: str | UUID) -> FlowRun:
    from prefect.exceptions import ObjectNotFound

    with client(api_url) as c:
        try:
            return c.read_flow_run(UUID(str(flow_run_id)))
        except ObjectNotFound:
            raise PrefectApiError(
                f"the Prefect server at {api_url} has no flow run {flow_run_id} (a different "
                "server, or its database was reset?)",
                status=404,
            ) from None


def mark_crashed(api_url: str, flow_run_id: str | UUID, message: str) -> None:
    """Force the run to Crashed: its process is gone and will not report it itself."""
    from prefect.states import Crashed

    with client(api_url) as c:
        c.set_flow_run_state(UUID(str(flow_run_id)), Crashed(message=message), force=True)


def state_type(run: FlowRun) -> str:
    return run.state.type.value if run.state is not None else "PENDING"


def state_name(run: FlowRun) -> str:
    return str(run.state.name) if run.state is not None else "Pending"
