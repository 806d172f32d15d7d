"""The Slack-facing layer, between the runtime (bot/runtime/) and the domain.

- `listeners/`: Bolt listeners, one file per kind of payload. Each parses a Slack payload into
  plain values, calls one domain function and renders the result; nothing below this package
  sees a Slack request object.
- `views/`: the Block Kit the listeners open or post and read back (modals, follow-ups).
- `checks/`: what every request passes before a listener runs, on both fronts: the payload
  guard (`guard.py`, shapes that would crash Bolt), the team gate (`team_gate.py`, our
  organisation only), and the signing of values the bot hands Slack and gets back
  (`signing.py`).
- `payload_values.py`: single values read out of payloads (IDs, timestamps, text), shared by all.
"""
