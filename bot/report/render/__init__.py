"""The report's figures written out, never computed: Block Kit (`blocks.py`), text, JSON and
CSV (`formats.py`), and the words and numbers' forms they share (`wording.py`)."""
