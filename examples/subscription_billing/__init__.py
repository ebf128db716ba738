"""Subscription billing: a year of monthly charges with retries, a grace period and cancellation."""
