"""Thin Slack listeners: parse a payload, call one domain function, render the result."""
