"""The evaluation dataset: answers people corrected or disliked, kept as test cases.

One MLflow evaluation dataset (`FEEDBACK_DATASET`, default `slack-feedback`) on the tracking
server, linked to the bot's experiment and created on first use. One record per answer,
shaped as MLflow's own `merge_records(traces)` shapes one (so `make eval` and
`mlflow.genai.evaluate` read it as they read any):

- `inputs`: what the model was asked, as the answer's root span holds it:
  `{"question": text}`, plus `"history": [{"role": "user"|"assistant", "content": text}, …]`
  when the question came in a thread.
- `outputs`: the answer, as the root span holds it: `{"answer": text}`.
- `expectations`:
  - `expected_response`: the newest valid correction (a person's "What should the answer
    have said?", a HUMAN `expected_response` expectation on the trace), as typed;
  - `expected_responses`: every valid correction, newest first, when several people gave one;
  - `guidelines`: a list of rules drawn from the 👎 reasons that count (a reason while its
    giver's vote is 👎) and their comments.
  (A key is present only when the answer has it.)
- `source`: `{"source_type": "TRACE", "source_data": {"trace_id": …, "session_id": …}}`.
- `tags`: `slack.channel`, `votes.up`, `votes.down`, `reasons` (keys, comma-separated),
  `corrections` (how many), `added_by` (a Slack user ID, `cli:<user>` or `auto:<mode>`) and
  `mlflow.user` (the same: the server's created_by / last_updated_by).

The server matches records by their inputs: the same answer added again updates its record
(expectations and tags merged key by key, outputs replaced), and two answers to the very same
question with the same history are one test case.
"""
