"""The feedback report.

- `command.py`: `/feedback-report` (its access rule in `access.py`, its words in `args.py`,
  its window in `window.py`, what it asks Slack in `slack_lookups.py`); `export.py`: answers
  with feedback as JSON lines;
- `model.py`: the report's values (plain dataclasses);
- `figures/`: the figures, computed over what the tracking server returns (`trace_pages.py`,
  `trace_records.py`): from its aggregates or page by page, and the 👎 reasons;
- `render/`: the figures written out: Block Kit, text, JSON, CSV, and the words they share.
"""
