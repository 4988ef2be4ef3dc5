"""Alembic environment: the store hands over an open connection (already holding the
migration lock), so this only configures the context and runs the scripts."""

from __future__ import annotations

from alembic import context

from handover.store.engine import VERSION_TABLE
from handover.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
