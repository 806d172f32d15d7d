"""Bolt listeners: each parses a Slack payload into plain values, calls one domain function
and renders the result. `guard.py` refuses malformed payloads before Bolt sees them;
`payload_values.py` turns raw payload fields into checked values. Nothing below this package
sees a Slack request object."""
