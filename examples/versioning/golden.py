"""Record the golden v1 history, ``histories/order_v1.json``.

The file is history from the past: what a v1 worker wrote for a run that v2 workers must still
be able to replay. It is recorded once, reviewed and committed; the tests only read it (and
check that :func:`record_order_v1` still produces exactly it). To write it again, deliberately::

    python -m examples.versioning.golden
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pytest_durable import DurableEnvironment, History

from .workflows import OrderRequest, OrderV1

GOLDEN_V1 = Path(__file__).parent / "histories" / "order_v1.json"
START = datetime(2030, 2, 1, 12, 0, tzinfo=UTC)
REQUEST = OrderRequest("o-2001", "cust-17", 12_500)


def record_order_v1() -> History:
    """Run v1 (with its stand-in activities) on a fixed clock and seed; return its history."""
    with DurableEnvironment(start_time=START, seed=0) as env:
        return env.run(OrderV1.run, REQUEST, id="order-o-2001").history


def write_golden(path: Path = GOLDEN_V1) -> Path:
    """Write the v1 history to ``path``; for humans, never called by the tests."""
    record_order_v1().save(path)
    return path


if __name__ == "__main__":
    print(f"wrote {write_golden()}")
