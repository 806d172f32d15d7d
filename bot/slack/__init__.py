"""The Slack Web API side: the client with Slack's retry rules (`client.py`, `retries.py`),
error reasons (`errors.py`), and the shape of the bot's answer messages (`answer_message.py`:
blocks, metadata, and which message is ours and which trace it carries)."""
