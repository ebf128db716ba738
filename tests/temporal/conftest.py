"""Temporal SDK front-end tests need temporalio (the ``temporal`` extra, part of ``dev``)."""

from __future__ import annotations

import pytest

pytest.importorskip("temporalio")
