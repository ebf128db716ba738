"""Errors of the Temporal SDK front-end."""

from __future__ import annotations

from ..errors import DurableError


class UnsupportedTemporalFeatureError(DurableError, NotImplementedError):
    """Workflow or test code used a Temporal feature that this engine cannot provide.

    The message names the feature (Nexus operations, schedules, interceptors that need a server
    connection...); docs/temporal.md lists what is supported.
    """
