"""Local durable state: SQLite with one writer thread (`sqlite_db.py`) and the answer index
(`answer_index.py`: which Slack message carries which trace), and the assistant panel's threads
(`assistant_threads.py`: the channel each user is viewing)."""
