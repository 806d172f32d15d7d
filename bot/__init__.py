"""The Slack GenAI feedback bot: every answer an MLflow trace, every rating a HUMAN assessment.

Layers, each importing only those below it (checked by `lint-imports`, pyproject.toml):
`runtime` and `ops` (processes and operator commands) → `listeners` (Bolt: Slack payloads in,
plain values out) → the domain, `answering`, `feedback`, `report` → the infrastructure,
`llm`, `tracing`, `slack`, `storage` → `common`. Settings come from the top-level `config`.
"""
