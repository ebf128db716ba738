"""Example workflow test suites: sagas, polling, billing, approval, fan-out and versioning."""
