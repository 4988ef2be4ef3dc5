"""An API client is one client whatever its version: the app key of calls made through no
connected app loses the client's version ("client:DataLoaderBatch/59.0.0" becomes
"client:DataLoaderBatch"), so a finding survives a client upgrade with its history.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

The per-day IP and field rows are keyed by app key without the client name, so two
versions' rows of one day fold into one (counts added, the smallest example kept, as the
ingestion keeps it). The API aggregates keep their client name (it is part of their key),
so only their app key changes. Findings saved before keep their ids: the first run after
the upgrade reports the client's finding under its new id, once.

The version rule is written out here, not imported: a migration must keep doing what it
did when it was written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_CLIENT_VERSION = re.compile(r"\s*/\s*v?[0-9][^/]*$|\s+v?[0-9]+(?:\.[0-9]+)+\S*$")


def _key(app_key: str) -> str:
    if not app_key.startswith("client:"):
        return app_key
    name = app_key[len("client:") :].strip()
    return "client:" + (_CLIENT_VERSION.sub("", name) or name)


def _fold(
    conn: sa.Connection, table: str, key: Sequence[str], total: str, example: str | None
) -> None:
    """Rewrite the client app keys of ``table``, adding up rows that become one."""
    meta = sa.MetaData()
    t = sa.Table(table, meta, autoload_with=conn)
    rows = conn.execute(sa.select(t).where(t.c.app_key.like("client:%"))).mappings().all()
    changed = [r for r in rows if _key(r["app_key"]) != r["app_key"]]
    if not changed:
        return
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:  # rows already under the new key take part in the fold too
        new = dict(r, app_key=_key(r["app_key"]))
        k = tuple(new[c] for c in key)
        if k not in merged:
            merged[k] = new
            continue
        into = merged[k]
        into[total] += new[total]
        if example and new[example] and (not into[example] or new[example] < into[example]):
            into[example] = new[example]
    touched = {tuple(dict(r, app_key=_key(r["app_key"]))[c] for c in key) for r in changed}
    olds = [
        r for r in rows if tuple(dict(r, app_key=_key(r["app_key"]))[c] for c in key) in touched
    ]
    for r in olds:
        conn.execute(t.delete().where(*(t.c[c] == r[c] for c in key)))
    conn.execute(t.insert(), [merged[k] for k in touched])


def upgrade() -> None:
    conn = op.get_bind()
    meta = sa.MetaData()
    api = sa.Table("usage_api_daily", meta, autoload_with=conn)
    for (old,) in conn.execute(
        sa.select(api.c.app_key).where(api.c.app_key.like("client:%")).distinct()
    ).all():
        if _key(old) != old:
            conn.execute(api.update().where(api.c.app_key == old).values(app_key=_key(old)))
    pair_day = ["org_id", "day", "event_type", "user_id", "app_key"]
    _fold(conn, "usage_api_source_ips", [*pair_day, "ip"], "calls", None)
    _fold(conn, "usage_field_daily", [*pair_day, "entity", "field", "access"], "count", "example")


def downgrade() -> None:
    # The versions are not kept anywhere the old keys could be rebuilt from for the folded
    # rows; the API aggregates still name their client, and get their old keys back.
    conn = op.get_bind()
    meta = sa.MetaData()
    api = sa.Table("usage_api_daily", meta, autoload_with=conn)
    rows = conn.execute(
        sa.select(api.c.app_key, api.c.client_name)
        .where(api.c.app_key.like("client:%"), api.c.client_name != "")
        .distinct()
    ).all()
    for key, client in rows:
        old = f"client:{client}"
        if old != key:
            conn.execute(
                api.update()
                .where(api.c.app_key == key, api.c.client_name == client)
                .values(app_key=old)
            )
