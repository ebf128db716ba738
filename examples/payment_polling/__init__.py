"""Polling: check an external system on a durable schedule until it answers or a deadline passes."""
