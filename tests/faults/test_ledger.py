"""EffectLedger on fakeredis: record, apply_once, and the applied-once assertion."""

from __future__ import annotations

from collections.abc import Iterator

import fakeredis
import pytest

from pytest_durable import InvalidArgumentError
from pytest_durable.testing import EffectLedger


@pytest.fixture
def ledger() -> Iterator[EffectLedger]:
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    yield EffectLedger(client, namespace="test")
    client.close()


def test_record_always_applies(ledger: EffectLedger) -> None:
    assert ledger.record("charge", "o-1", amount=100) == 1
    assert ledger.record("charge", "o-1", amount=100) == 2
    assert ledger.count("charge", "o-1") == 2
    assert ledger.applications("charge", "o-1") == [{"amount": 100}, {"amount": 100}]


def test_apply_once_applies_the_first_time_only(ledger: EffectLedger) -> None:
    assert ledger.apply_once("charge", "idem-1", amount=100) is True
    assert ledger.apply_once("charge", "idem-1", amount=100) is False
    assert ledger.apply_once("charge", "idem-2", amount=5) is True
    assert ledger.effects() == {
        ("charge", "idem-1"): [{"amount": 100}],
        ("charge", "idem-2"): [{"amount": 5}],
    }
    ledger.assert_applied_once()
    ledger.assert_applied_once("charge")


def test_applied_twice_fails_listing_each_application(ledger: EffectLedger) -> None:
    ledger.record("charge", "o-1", amount=100, attempt=1)
    ledger.record("charge", "o-1", amount=100, attempt=2)
    ledger.record("email", "o-1")
    with pytest.raises(AssertionError) as caught:
        ledger.assert_applied_once()
    assert str(caught.value).startswith(
        "effect 'charge' applied 2 times under key 'o-1' (expected once):\n"
        '    1. {"amount": 100, "attempt": 1}\n'
        '    2. {"amount": 100, "attempt": 2}\n'
        "An activity retried after its side effect"
    )
    ledger.assert_applied_once("email")


def test_an_effect_never_applied_is_named(ledger: EffectLedger) -> None:
    ledger.record("email", "o-1")
    with pytest.raises(
        AssertionError,
        match=r"effect 'charge' was never applied \(effects "
        r"recorded: email\)",
    ):
        ledger.assert_applied_once("charge")


def test_ledgers_sharing_a_server_do_not_mix() -> None:
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    first, second = EffectLedger(client), EffectLedger(client)
    first.record("charge", "o-1")
    assert second.effects() == {}
    assert first.clear() == 1 and first.effects() == {}
    assert repr(first).startswith("<EffectLedger 'durable-ledger:")


@pytest.mark.parametrize(
    ("effect", "key", "message"),
    [
        ("", "k", "effect must be a non-empty string"),
        ("e", "", "key must be a non-empty"),
        ("a:b", "k", "an effect name must not contain ':'"),
    ],
)
def test_bad_names(ledger: EffectLedger, effect: str, key: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        ledger.record(effect, key)
