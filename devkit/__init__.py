"""The development kit (never deployed): strict emulators of the Slack Web API and of an
OpenAI-compatible LLM, Slack-signed request senders and payload builders, and starters for a
real MLflow server and the bot as a process. Used by the sandbox, the benchmarks and the tests;
it imports the bot only as a user of it would."""
