"""The report's figures, computed (blocking calls to the tracking server): `report.py` is the
entry point; `aggregated.py` asks the server's aggregates, `counting.py` counts page by page,
`answers.py` reads one answer from its trace, `down_reasons.py` counts the 👎 reasons."""
