"""Answering a question: which messages to answer and their thread history
(`conversation.py`), the prompt, one MLflow trace per answer around the LLM call
(`answerer.py`) and the reply streamed into the thread (`slack_reply.py`); Slack's assistant
panel: greeting, suggested prompts, title and the channel in view (`assistant.py`)."""
