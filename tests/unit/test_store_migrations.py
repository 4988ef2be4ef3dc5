"""Data migrations of the store, each on a store left at the revision before it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import insert, select

from handover.store import tables as t
from handover.store.engine import _config, open_engine, write_transaction
from handover.usage import UsageStore

ORG = "00D5g0000012345AAA"
USER = "0055g00000Ops01AAB"
DAY = date(2026, 11, 2)
T = datetime(2026, 11, 2, 1, tzinfo=UTC)


def _api(client: str, calls: int) -> dict[str, object]:
    return {
        "org_id": ORG, "day": DAY, "event_type": "ApiTotalUsage", "user_id": USER,
        "app_key": f"client:{client}", "client_name": client, "api_family": "SOAP",
        "entity": "Account", "operation": "update", "status": "success", "app_id": "",
        "app_name": "", "example": "", "calls": calls, "first_at": T, "last_at": T,
    }  # fmt: skip


def test_0005_folds_a_clients_versions_into_one_client(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = open_engine(url)
    with write_transaction(engine) as conn:
        command.upgrade(_config(conn), "0003")
        conn.execute(insert(t.api_daily), [_api("DataLoaderBatch/59.0.0", 3),
                                           _api("DataLoaderBatch/60.0.0", 4)])  # fmt: skip
        key = {"org_id": ORG, "day": DAY, "event_type": "API", "user_id": USER}
        conn.execute(insert(t.api_source_ips), [
            {**key, "app_key": "client:DataLoaderBatch/59.0.0", "ip": "198.51.100.14", "calls": 3},
            {**key, "app_key": "client:DataLoaderBatch/60.0.0", "ip": "198.51.100.14", "calls": 4},
            {**key, "app_key": "client:Workbench", "ip": "198.51.100.9", "calls": 1},
        ])  # fmt: skip
        field = {**key, "entity": "Account", "field": "Name", "access": "read"}
        conn.execute(insert(t.field_usage), [
            {**field, "app_key": "client:DataLoaderBatch/59.0.0", "count": 2, "example": "b"},
            {**field, "app_key": "client:DataLoaderBatch/60.0.0", "count": 5, "example": "a"},
        ])  # fmt: skip
    engine.dispose()

    with UsageStore(url) as store, store.engine.connect() as conn:
        a, i, f = t.api_daily.c, t.api_source_ips.c, t.field_usage.c
        assert sorted(conn.execute(select(a.app_key, a.client_name, a.calls)).all()) == [
            ("client:DataLoaderBatch", "DataLoaderBatch/59.0.0", 3),
            ("client:DataLoaderBatch", "DataLoaderBatch/60.0.0", 4),
        ]
        assert sorted(conn.execute(select(i.app_key, i.ip, i.calls)).all()) == [
            ("client:DataLoaderBatch", "198.51.100.14", 7),
            ("client:Workbench", "198.51.100.9", 1),
        ]
        assert conn.execute(select(f.app_key, f.count, f.example)).all() == [
            ("client:DataLoaderBatch", 7, "a")
        ]
