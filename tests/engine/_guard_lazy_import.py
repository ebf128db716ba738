"""Imported lazily by a workflow in test_determinism_guard (an import opens files)."""

VALUE = "lazy"
