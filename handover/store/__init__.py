"""The handover store: one database (SQLite file by default, PostgreSQL by URL) for the
usage aggregates, discovery runs and findings, and the plans made from them.

``engine`` opens it safely for several processes at once and migrates it (``migrations``);
``tables`` defines it; ``findings`` and ``plans`` read and write their rooms. The usage
aggregates are written and read through ``handover.usage.UsageStore``.
"""
