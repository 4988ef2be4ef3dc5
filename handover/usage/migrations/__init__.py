"""Schema migrations of the usage store (alembic, run programmatically at store open).

To change the schema: edit ``schema.py``, add ``versions/NNNN_<what>.py`` with the next
revision id and ``down_revision`` set to the previous one, written with ``op.*`` calls
(``batch_alter_table`` for SQLite). ``tests/unit/test_usage_store.py`` checks that the
migrated database matches ``schema.py``.
"""
