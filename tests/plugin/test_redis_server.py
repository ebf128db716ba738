"""The ledger against a real redis-server, started here on a free local port.

On a machine without redis-server these tests skip, saying how to install it; under CI=true
they refuse to skip, so CI always runs them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

from pytest_durable.testing import EffectLedger

INSTALL = "apt-get install -y redis-server (or brew install redis)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_or_skip() -> str:
    """The redis-server binary; without one, skip saying how to install it (fail under CI)."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"redis-server is not installed, and CI must run these tests: {INSTALL}")
        pytest.skip(f"redis-server is not installed: {INSTALL}")
    return binary


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start redis-server on a free port (no persistence) and stop it after the module."""
    binary = redis_server_or_skip()
    port = _free_port()
    directory = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start on port {port}")
                time.sleep(0.02)
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def test_the_ledger_on_a_real_server(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    ledger = EffectLedger(client)
    assert ledger.apply_once("charge", "idem-1", amount=100)
    assert not ledger.apply_once("charge", "idem-1", amount=100)
    ledger.record("email", "o-1")
    ledger.record("email", "o-1")
    with pytest.raises(AssertionError, match="effect 'email' applied 2 times under key 'o-1'"):
        ledger.assert_applied_once()
    ledger.assert_applied_once("charge")
    assert ledger.clear() == 3
    assert client.keys(f"{ledger.namespace}:*") == []
    client.close()


def test_the_fixture_connects_to_the_url(pytester: pytest.Pytester, redis_url: str) -> None:
    pytester.makepyfile(
        test_it="""
def test_it(durable_redis, durable_ledger):
    assert type(durable_redis).__module__.startswith("redis")
    durable_ledger.record("charge", "o-1")
    durable_redis.set("written-by-the-test", "yes")
"""
    )
    pytester.runpytest(f"--durable-redis-url={redis_url}").assert_outcomes(passed=1)
    client = redis.Redis.from_url(redis_url)
    assert client.get("written-by-the-test") == b"yes"
    # The ledger cleaned up what it wrote; the test's own key stays (nothing is flushed).
    assert [k for k in client.keys("*") if k.startswith(b"durable-ledger:")] == []
    client.delete("written-by-the-test")
    client.close()


def test_without_redis_server_the_tests_skip_saying_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y redis-server"):
        redis_server_or_skip()


def test_under_ci_they_refuse_to_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run these tests"):
        redis_server_or_skip()
