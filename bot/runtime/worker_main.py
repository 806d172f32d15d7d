"""`python -m bot.runtime.worker_main`: how the front starts its worker process
(bot/runtime/worker.py).

SIGINT and SIGTERM are ignored before anything else is imported: a platform or a terminal
that signals every process of the bot must not kill answers the front has already acked.
The worker stops when its stdin closes.
"""

import os
import signal
import sys

for signum in (signal.SIGINT, signal.SIGTERM):
    signal.signal(signum, signal.SIG_IGN)
os.nice(10)

from bot.runtime.worker import main  # noqa: E402 - only once the signals are ignored

sys.exit(main())
