import uuid


def new_id(prefix: str) -> str:
    """A fresh Slack-looking ID (U…, C…, D…), so tests never share users or channels."""
    return prefix + uuid.uuid4().hex[:10].upper()


def new_trace_id() -> str:
    """A fresh MLflow trace ID of the shape the bot accepts (tr- and 32 hex digits)."""
    return "tr-" + uuid.uuid4().hex
