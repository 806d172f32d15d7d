"""MLflow: the bounded tracing client and its set-up (`setup.py`), the data model of traces and
assessments (`data_model.py`: tag and assessment names, the rating scale), which assessments
are people's feedback and the bot's summary of them (`counted_feedback.py`), export failures
(`export_watch.py`) and links into the MLflow UI (`links.py`)."""
