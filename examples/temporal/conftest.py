"""These examples need temporalio: ``pip install 'pytest-durable[temporal]'`` (in ``dev``)."""

from __future__ import annotations

import pytest

pytest.importorskip("temporalio", reason="needs the temporal extra")
