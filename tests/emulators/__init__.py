"""Strict local stand-ins for the Slack Web API and an OpenAI-compatible LLM (aiohttp servers)."""
