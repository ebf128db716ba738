"""DurableConfig on its own: precedence, marker merging, and what it builds (no pytester)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pytest_durable import InvalidArgumentError
from pytest_durable.fixtures import DurableConfig

NO_OPTIONS = {"seed": None, "start_time": None, "replay_every_task": None}


def test_option_wins_over_ini_which_wins_over_default() -> None:
    assert DurableConfig.resolve(NO_OPTIONS, {}) == DurableConfig()
    from_ini = DurableConfig.resolve(NO_OPTIONS, {"seed": " 4 ", "replay_every_task": "yes"})
    assert (from_ini.seed, from_ini.replay_every_task) == (4, True)
    both = DurableConfig.resolve({**NO_OPTIONS, "seed": "5"}, {"seed": "4"})
    assert both.seed == 5


def test_inherited_seed_replaces_a_random_draw() -> None:
    config = DurableConfig.resolve({"seed": "random"}, {}, inherited_seed=77)
    assert (config.seed, config.random_seed) == (77, True)
    assert "seed=77 (random; reproduce with --durable-seed=77)" in config.describe()


def test_marker_converts_friendly_values() -> None:
    config = DurableConfig().with_marker(
        (),
        {"deadlock_timeout": timedelta(milliseconds=1500), "patch_time": True, "seed": 3},
        where="t",
    )
    assert config.deadlock_timeout == 1.5
    assert config.patch_time == "time-machine"
    assert config.seed == 3
    whole = DurableConfig().with_marker((), {"deadlock_timeout": 3}, where="t")
    assert whole.deadlock_timeout == 3.0


def test_marker_seed_is_no_longer_random() -> None:
    drawn = DurableConfig(seed=12, random_seed=True)
    assert drawn.with_marker((), {"seed": 1}, where="t").random_seed is False
    assert drawn.with_marker((), {"timeline": "never"}, where="t").random_seed is True


def test_environment_kwargs_realise_every_setting() -> None:
    config = DurableConfig(
        seed=9,
        start_time=datetime(2030, 1, 1, tzinfo=UTC),
        patch_time="freezegun",
        auto_skip=False,
        deadlock_timeout=None,
        replay_every_task=True,
        max_unbounded_attempts=50,
        max_drive_time=60.0,
        max_history_events=300,
        check_types=False,
        strict_activities=True,
        determinism_guard=False,
    )
    assert config.environment_kwargs() == {
        "start_time": datetime(2030, 1, 1, tzinfo=UTC),
        "seed": 9,
        "auto_skip": False,
        "deadlock_timeout": None,
        "replay_every_task": True,
        "max_unbounded_attempts": 50,
        "max_drive_time": 60.0,
        "max_history_events": 300,
        "check_types": False,
        "strict_activities": True,
        "determinism_guard": False,
        "patch_time": "freezegun",
    }
    assert DurableConfig().environment_kwargs()["patch_time"] is False
    with config.create_environment() as env:
        assert env.now() == datetime(2030, 1, 1, tzinfo=UTC)
        assert env.seed == 9
        assert env.patch_time == "freezegun"
        assert env.engine.max_unbounded_attempts == 50
        assert env.max_drive_ns == 60 * 10**9
        assert env.engine.max_history_events == 300
        assert env.engine.determinism_guard is False


def test_describe_mentions_auto_skip_only_when_off() -> None:
    assert "auto_skip" not in DurableConfig().describe()
    assert DurableConfig(auto_skip=False).describe().endswith(", auto_skip=no")


def test_direct_construction_is_validated() -> None:
    with pytest.raises(InvalidArgumentError, match="start_time must be timezone-aware"):
        DurableConfig(start_time=datetime(2030, 1, 1))
    with pytest.raises(InvalidArgumentError, match="deadlock_timeout must be a positive"):
        DurableConfig(deadlock_timeout=float("nan"))


def test_durable_config_is_a_frozen_value() -> None:
    import copy
    import dataclasses
    import pickle

    config = DurableConfig(seed=3, timeline="always")
    assert config == DurableConfig(seed=3, timeline="always")
    assert config != DurableConfig(seed=4, timeline="always")
    assert config != "DurableConfig(seed=3)"
    assert hash(config) == hash(DurableConfig(seed=3, timeline="always"))
    assert len({config, DurableConfig(seed=3, timeline="always")}) == 1
    assert repr(config).startswith("DurableConfig(seed=3, random_seed=False, start_time=")
    assert pickle.loads(pickle.dumps(config)) == config
    assert copy.deepcopy(config) == config
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'seed'"):
        config.seed = 4  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'seed'"):
        del config.seed  # type: ignore[misc]
    changed = config.replace(seed=9)
    assert (changed.seed, changed.timeline, config.seed) == (9, "always", 3)
    with pytest.raises(InvalidArgumentError, match="seed must be an int"):
        config.replace(seed="nine")
    with pytest.raises(TypeError, match="unexpected keyword argument 'sed'"):
        DurableConfig(sed=1)  # type: ignore[call-arg]


def test_only_values_other_than_the_defaults_are_checked() -> None:
    import inspect

    from pytest_durable import _config

    # The defaults are known to be valid; anything else passed is checked, even a value that
    # merely equals a default (seed=False == 0, random_seed=0 == False).
    keywords = list(inspect.signature(DurableConfig).parameters)
    assert tuple(keywords) == DurableConfig._ORDER
    assert tuple(getattr(DurableConfig(), name) for name in keywords) == _config._DEFAULTS
    with pytest.raises(InvalidArgumentError, match="seed must be an int, got False"):
        DurableConfig(seed=False)
    with pytest.raises(InvalidArgumentError, match="random_seed must be True or False, got 0"):
        DurableConfig(random_seed=0)  # type: ignore[arg-type]
    assert DurableConfig(seed=0) == DurableConfig()


def test_nothing_set_resolves_to_the_defaults_without_parsing() -> None:
    # An ini flag left false and empty strings set nothing; an option given as False neither.
    unset = {"seed": None, "replay_every_task": False}
    assert DurableConfig.resolve(unset, {"seed": "", "explore": False}) == DurableConfig()
    assert DurableConfig.resolve(unset, {"explore": True}) == DurableConfig(explore=True)
    with pytest.raises(InvalidArgumentError, match="ini key durable_seed: expected an integer"):
        DurableConfig.resolve(unset, {"seed": "seven"})
