"""The SQL the backend runs, built with SQLAlchemy Core, by what it is about.

Statements only: no connections, no transactions (``transactions`` holds
those). Every statement is built once, at import, with named parameters, and
reused: SQLAlchemy then compiles it once per dialect and finds it in its
cache by identity, instead of building and hashing a new statement tree per
call. A function here answers a ``Bound``: the statement and its parameters'
values, run as ``connection.execute(*bound)``. Statements whose rows come in
parts (a union read in one round trip) have their row reader next to them.

- ``parts``: what the others are built of: ``Bound``, a session named by its
  key, the columns reads select, the pieces of unions, read budgets;
- ``sessions``: a session's row: created, read whole in one statement, its
  revision set, deleted;
- ``events``: events' rows: stored, found by id, and read as windows and pages;
- ``listing``: pages of sessions with their state;
- ``state``: state rows: read merged or by scope, and upserted;
- ``sizes``: the sizes the state limit is judged by: read, locked, counted;
- ``lifecycle``: expiry and close set, a user erased, expired sessions counted, listed and purged;
- ``rows``: how an event is kept in a row, and read back from one.

The statements that store a batch of appends, one form per database, live
with the code that runs them, in ``appends``.
"""
