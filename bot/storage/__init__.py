"""Local durable state: SQLite with one writer thread (`sqlite_db.py`) and the answer index
(`answer_index.py`: which Slack message carries which trace)."""
