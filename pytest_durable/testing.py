"""Assertions for what durable workflows promise, and the idempotency effect ledger.

- :func:`assert_compensations`: a saga's compensations ran once each, newest first, and only
  for steps that completed (from the run's history);
- :func:`assert_attempts`: every attempt of an activity, its outcome and virtual time, as one
  readable assertion (:func:`attempts_of` gives the records);
- :func:`check_workflow`: a workflow under many fault plans, each run replayed and its
  invariant checked (see docs/properties.md);
- :class:`EffectLedger`: side effects recorded in Redis under idempotency keys, with
  :meth:`EffectLedger.assert_applied_once`.
"""

from __future__ import annotations

from .errors import InvariantError, PropertyFailure
from .fixtures._assertions import assert_attempts, assert_compensations, attempts_of
from .fixtures._ledger import EffectLedger
from .fixtures._properties import PropertyCheck, check_workflow

__all__ = [
    "EffectLedger",
    "InvariantError",
    "PropertyCheck",
    "PropertyFailure",
    "assert_attempts",
    "assert_compensations",
    "attempts_of",
    "check_workflow",
]
