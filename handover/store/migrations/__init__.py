"""Schema migrations of the handover store (alembic, run programmatically at store open).

To change the schema: edit the table definitions (``../tables/``), add
``versions/NNNN_<what>.py`` with the next revision id and ``down_revision`` set to the
previous one, written with ``op.*`` calls (``batch_alter_table`` for SQLite).
``tests/unit/test_usage_store.py`` checks that the migrated database matches the tables.
"""
