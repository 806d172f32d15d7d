"""The Slack GenAI feedback bot: domain code and entry point (`python -m bot`)."""
