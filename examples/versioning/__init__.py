"""Versioning with ``workflow.patched``: a new step that old, in-flight runs must not take."""
