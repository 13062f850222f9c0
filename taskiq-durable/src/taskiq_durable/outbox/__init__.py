"""A transactional outbox (the `sql` extra): kicks that commit with the caller's data.

`kick_after_commit` writes the kick in the caller's transaction and sends it after the commit;
`OutboxRelay` sends what the fast path did not; `first_processing` makes a task's effects
happen once per message; `outbox_stats` says what waits. docs/patterns/transactions.md.
"""
