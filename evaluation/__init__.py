"""`make eval`: the evaluation dataset replayed through the bot's own answer path, and scored.

It runs in an environment of its own (.venv-eval: full `mlflow` for `mlflow.genai.evaluate`,
beside the bot's runtime dependencies); the deployed bot never imports this package
(lint-imports checks it). Modules: `records` (a record's inputs as the question the bot is
asked), `similarity` and `summary` (plain Python: the fast tests run them in the bot's
environment), `replay` (the predict function: the bot's `Answerer`), `scorers` and `runner`
(full mlflow), `__main__` (the command line).
"""
