"""The migration's pure core: step order, writes and their rollback, verification,
decommission, approval tokens."""
