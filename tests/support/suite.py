"""The suite's fixed values: the Slack app's tokens and team, the LLM key, the repository."""

from __future__ import annotations

import secrets

from devkit.bot_process import ROOT

BOT_TOKEN = "xoxb-test-" + secrets.token_hex(12)
SIGNING_SECRET = "signing-" + secrets.token_hex(16)
LLM_KEY = "sk-test-" + secrets.token_hex(16)
TEAM_ID = "T0TEAM"
ROOT_DIR = ROOT
