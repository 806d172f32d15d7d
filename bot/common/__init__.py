"""Small tools every layer may use: background tasks that outlive a listener, text checks,
secret redaction in logs, what a failed call to another service means (`failures.py`)."""
