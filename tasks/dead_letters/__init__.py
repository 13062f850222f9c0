"""Dead letters: messages that did not, or could not, run to success, kept in PostgreSQL.

`letters` builds the rows, `checks` finds the messages a worker must not run, `service` stores,
lists and replays them (the admin routes and `python -m tasks.dead_letters` share it).
"""
