"""Durable state: the store of work in flight (`store.py`, tables in `schema.py`: questions,
seen event keys, traces waiting for the tracking server, the answer index, the feedback outbox
whose queries are bot/feedback/outbox.py) and the assistant panel's threads
(`assistant_threads.py`: the channel each user is viewing), in the same store."""
