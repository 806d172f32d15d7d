"""The feedback report: `/feedback-report` (`command.py`, with its access rule and arguments),
the figures (`compute.py`) over the traces the tracking server returns (`trace_pages.py`),
and its renderings: Block Kit (`blocks.py`), text, JSON and CSV (`formats.py`), the export."""
