"""durable_redis and durable_ledger: fakeredis by default, --durable-redis-url for a server."""

from __future__ import annotations

import pytest

LEDGER_TEST = """
def test_ledger(durable_redis, durable_ledger):
    assert type(durable_redis).__module__.startswith({module!r})
    durable_ledger.record("charge", "o-1", amount=1)
    durable_ledger.assert_applied_once()
    durable_redis.set("left-behind", "1")

def test_fresh_server_per_test(durable_redis):
    assert durable_redis.get("left-behind") is None
"""


def test_fakeredis_by_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it=LEDGER_TEST.format(module="fakeredis"))
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_a_bad_url_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it="def test_it(): pass")
    result = pytester.runpytest("--durable-redis-url=localhost:6379")
    result.stderr.fnmatch_lines(
        [
            "*--durable-redis-url: expected a Redis URL (redis://, rediss:// or unix://), got "
            "'localhost:6379'*"
        ]
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_an_unreachable_server_fails_the_test_saying_where(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it="def test_it(durable_redis): pass")
    result = pytester.runpytest("--durable-redis-url=redis://127.0.0.1:1/0")
    result.stdout.fnmatch_lines(
        ["*cannot reach the Redis server at redis://127.0.0.1:1/0 (--durable-redis-url)*"]
    )
    result.assert_outcomes(errors=1)
