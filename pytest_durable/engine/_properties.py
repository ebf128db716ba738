"""A run's memo and search attributes, read from its history (the start, then each upsert)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _events as ev


def run_properties(events: Sequence[ev.Event]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The memo and the search attributes as they stand after ``events`` (JSON values)."""
    memo: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for event in events:
        if isinstance(event, ev.WorkflowExecutionStarted):
            memo.update(event.memo or {})
            attributes.update(event.search_attributes or {})
        elif isinstance(event, ev.WorkflowPropertiesModified):
            _upsert(memo, event.upserted_memo)
        elif isinstance(event, ev.UpsertWorkflowSearchAttributes):
            _upsert(attributes, event.search_attributes)
    return memo, attributes


def _upsert(target: dict[str, Any], updates: dict[str, Any]) -> None:
    for key, value in updates.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
