"""Example workflow test suites: sagas, polling, subscription billing and human approval."""
