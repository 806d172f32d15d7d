"""Checks every request passes before a listener runs, on the HTTP and Socket Mode fronts
alike: the payload guard, the team gate, and the signed values the bot gets back."""
