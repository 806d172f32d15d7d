"""The language model: an OpenAI-compatible streaming client (`client.py`), a local Ollama
(`local.py`), an offline stand-in (`offline.py`), and the one rule that picks among them
(`choice.py`)."""
