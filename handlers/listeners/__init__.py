"""Bolt listeners: each parses a Slack payload into plain values, calls one domain function
and renders the result (`register(app, …)` in each file; bot/runtime/app.py wires them)."""
