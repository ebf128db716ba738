"""``--durable-seed`` / ``durable_seed``: an int, or 'random' (printed so it can be reused)."""

from __future__ import annotations

import pytest

from ._support import header_line, printed, write_ini

SEED_TEST = r"""
from workflows import Dice

def test_seed(durable_env):
    print(f"\nseed={durable_env.seed}")
    print(f"\nroll={durable_env.run(Dice.run).result()}")
"""


def test_default_seed_is_zero(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SEED_TEST)
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=1)
    assert printed(result, "seed") == "0"


def test_option_sets_the_seed_and_the_seed_sets_randomness(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SEED_TEST)
    rolls = {}
    for seed in ("7", "7", "8"):
        result = pytester.runpytest("-s", f"--durable-seed={seed}")
        result.assert_outcomes(passed=1)
        assert printed(result, "seed") == seed
        rolls.setdefault(seed, set()).add(printed(result, "roll"))
    assert len(rolls["7"]) == 1, "the same seed gives the same workflow randomness"
    assert rolls["7"] != rolls["8"]


def test_ini_key_sets_the_seed_and_the_option_wins(pytester: pytest.Pytester) -> None:
    write_ini(pytester, "durable_seed = 11")
    pytester.makepyfile(SEED_TEST)
    result = pytester.runpytest("-s")
    assert printed(result, "seed") == "11"
    result = pytester.runpytest("-s", "--durable-seed=12")
    assert printed(result, "seed") == "12"


def test_random_seed_is_drawn_and_printed_for_reuse(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SEED_TEST)
    result = pytester.runpytest("-s", "--durable-seed=random")
    result.assert_outcomes(passed=1)
    seed = printed(result, "seed")
    assert f"seed={seed} (random; reproduce with --durable-seed={seed})" in header_line(result)
    seeds = {printed(pytester.runpytest("-s", "--durable-seed=random"), "seed") for _ in range(3)}
    assert len(seeds | {seed}) > 1, "a random seed differs between sessions"
