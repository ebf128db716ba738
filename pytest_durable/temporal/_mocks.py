"""Mocks under the Temporal front-end: temporalio exceptions they raise decide retries.

Loaded by the environment for every mock once temporalio is imported; it imports nothing of
temporalio itself until a mock actually fails with one of its exceptions.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..engine._activity_worker import Attempt


class _ConvertingAttempt:
    """An attempt whose failures, when temporalio exceptions, are converted for the engine."""

    __slots__ = ("_attempt", "in_turn", "now_ns", "succeed", "task")

    def __init__(self, attempt: Attempt) -> None:
        self._attempt = attempt
        # What a mock uses on every attempt, forwarded without a __getattr__ miss each time.
        self.task = attempt.task
        self.now_ns = attempt.now_ns
        self.in_turn = attempt.in_turn
        self.succeed = attempt.succeed

    def fail(self, error: BaseException) -> None:
        exceptions = sys.modules.get("temporalio.exceptions")
        if exceptions is not None and isinstance(error, exceptions.FailureError):
            from ._activity import to_engine_error

            error = to_engine_error(error)
        self._attempt.fail(error)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._attempt, name)


class ConvertingMock:
    """Wraps a mock so that the temporalio exceptions it raises decide retries as on Temporal.

    ``temporalio.exceptions.ApplicationError(non_retryable=True)`` in a mock's ``raises=`` or
    ``outcomes=`` is not retried, exactly as when the real activity raises it.
    """

    def __init__(self, mock: Any) -> None:
        self.mock = mock

    def run_attempt(self, attempt: Attempt) -> None:
        """Run the mock's attempt, converting what it fails with."""
        self.mock.run_attempt(_ConvertingAttempt(attempt))
