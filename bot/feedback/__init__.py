"""Feedback on answers: votes, reactions and ratings as plain `FeedbackIntent` values
(`intent.py`), recorded durably in the outbox (`recorder.py`, `outbox.py`) and delivered to
MLflow as HUMAN assessments exactly once (`delivery.py`)."""
