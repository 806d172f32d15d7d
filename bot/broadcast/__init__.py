"""What the bot posts in a channel on its own: the digest (`digest.py`, on the schedule of
`schedule.py`) and the alerts (`alerts.py`, judged by `alert_rules.py`), each post made once
(`channel_post.py`, claimed in the store: bot/storage/broadcasts.py), never quoting a private
conversation (bot/report/privacy.py). `scheduler.py` runs them in the worker."""
