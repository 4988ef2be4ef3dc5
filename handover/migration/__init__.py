"""The migration's pure core: step order, actions, rollback, verification, approval tokens."""
