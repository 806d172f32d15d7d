"""A local Slack for trying the bot without a workspace: `make run` starts it when no Slack
tokens are configured. Not part of the deployed bot.

It is the tests' Slack Web API emulator (`devkit/slack_api.py`) plus a web page: what
you type and click there reaches the bot as Slack-signed HTTP requests to `/slack/events`, and
what the bot posts through the Web API shows up on the page.
"""

TEAM_ID = "T0SANDBOX"
TEAM_DOMAIN = "sandbox"
SANDBOX_USER_ID = "U0SANDBOX"
SANDBOX_USER_NAME = "you"
BOT_USER_ID = "U0GENAIBOT"
BOT_ID = "B0GENAIBOT"
BOT_NAME = "genai-bot"
APP_ID = "A0GENAIBOT"
CHANNEL_ID = "C0GENERAL"
DM_ID = "D0GENAIBOT"
# Where `make run`'s bot posts its digest and alerts (FEEDBACK_DIGEST_CHANNEL, …_ALERT_CHANNEL).
DIGEST_CHANNEL_ID = "C0FEEDBACK"
DIGEST_CHANNEL_NAME = "feedback-digest"
