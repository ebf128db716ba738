"""Engine tests: the start time their expected times are written against."""

from __future__ import annotations

from datetime import UTC, datetime

START = datetime(2030, 1, 1, tzinfo=UTC)
"""Every engine test's virtual clock starts here (the shared ``env`` fixture's start)."""
