"""Operator commands behind `python -m bot`: `check` (configuration, Slack, MLflow, the LLM),
`manifest` (the Slack app manifest) and the report's `report`/`export` command line."""
