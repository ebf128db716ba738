"""Fault plans: what to do to a run, as data (see docs/faults.md).

``FaultPlan(faults=(...))`` holds faults of these kinds; ``repr(plan)`` is Python that rebuilds
the plan with the names of this module in scope (``from pytest_durable.faults import *``), and
``FaultPlan.from_json(plan.to_json()) == plan``.
"""

from __future__ import annotations

from datetime import timedelta

from .errors import FaultPlanError, UnreachedFaultError
from .fixtures._faults import (
    ActivityFault,
    CrashWorker,
    DuplicateDelivery,
    FailAttempt,
    Fault,
    FaultPlan,
    HangAttempt,
    LoseCompletion,
    PositionedFault,
    RequestCancel,
    RunQuery,
    SendSignal,
    SlowAttempt,
)

__all__ = [
    "ActivityFault",
    "CrashWorker",
    "DuplicateDelivery",
    "FailAttempt",
    "Fault",
    "FaultPlan",
    "FaultPlanError",
    "HangAttempt",
    "LoseCompletion",
    "PositionedFault",
    "RequestCancel",
    "RunQuery",
    "SendSignal",
    "SlowAttempt",
    "UnreachedFaultError",
    "timedelta",
]
