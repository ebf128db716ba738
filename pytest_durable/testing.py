"""Assertions for what durable workflows promise, and the idempotency effect ledger.

- :func:`assert_compensations`: a saga's compensations ran once each, newest first, and only
  for steps that completed (from the run's history);
- :func:`assert_attempts`: every attempt of an activity, its outcome and virtual time, as one
  readable assertion (:func:`attempts_of` gives the records);
- :class:`EffectLedger`: side effects recorded in Redis under idempotency keys, with
  :meth:`EffectLedger.assert_applied_once`.
"""

from __future__ import annotations

from .fixtures._assertions import assert_attempts, assert_compensations, attempts_of
from .fixtures._ledger import EffectLedger

__all__ = ["EffectLedger", "assert_attempts", "assert_compensations", "attempts_of"]
