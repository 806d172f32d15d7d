import uuid


def new_id(prefix: str) -> str:
    """A fresh Slack-looking ID (U…, C…, D…), so tests never share users or channels."""
    return prefix + uuid.uuid4().hex[:10].upper()
