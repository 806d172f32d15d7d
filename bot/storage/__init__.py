"""Local durable state: the store of work in flight (`store.py`, tables in `schema.py`:
questions, seen event keys, traces waiting for the tracking server, the answer index), SQLite
with one writer thread (`sqlite_db.py`, the feedback outbox's), and the assistant panel's
threads (`assistant_threads.py`: the channel each user is viewing)."""
