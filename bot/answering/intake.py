"""The front's side of a question: committed to the store before Slack is answered."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.answering.incoming import IncomingMessage
from bot.storage.store import Store, StoreUnavailable

log = logging.getLogger(__name__)


class QuestionNotKept(Exception):
    """The question could not be committed: Slack must not be told it was received."""


class QuestionIntake:
    def __init__(self, store: Store, wake_worker: Callable[[], None]) -> None:
        self._store = store
        self._wake_worker = wake_worker

    async def accept(self, message: IncomingMessage) -> None:
        """Keep `message` for the worker (once, however often Slack delivers it) and wake the
        worker; QuestionNotKept if the store cannot take it."""
        try:
            added = await self._store.add_question(message.key, message.to_json())
        except StoreUnavailable as error:
            log.error(
                "question %s not kept, the store is unavailable (%s): Slack gets a 5xx and retries",
                message.key,
                error,
            )
            raise QuestionNotKept(str(error)) from error
        if added:
            self._wake_worker()
        else:
            log.debug("question %s was taken already", message.key)
