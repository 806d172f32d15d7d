"""MLflow: the bounded tracing client and its set-up (`setup.py`), the one adapter for the
tracking server's REST API (`rest.py`: trace pages, trace metrics, evaluation datasets; its
errors in `rest_errors.py`, the trace infos it reads in `trace_records.py`), the MLflow
internals the bot reaches (`mlflow_internals.py`), the data model of traces and assessments
(`data_model.py`: tag and assessment names, the rating scale), which assessments are people's
feedback and the bot's summary of them (`counted_feedback.py`), keeping and sending traces
(`durable_export.py`), the tracking server's ups and downs (`server_watch.py`) and links into
the MLflow UI (`links.py`)."""
