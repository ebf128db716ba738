"""``--durable-patch-time`` / ``durable_patch_time``: wall-clock time follows virtual time."""

from __future__ import annotations

import pytest

from ._support import header_line, write_ini

WALL_CLOCK_TEST = """
import time
from datetime import datetime, timedelta, timezone

def test_wall_clock_follows(durable_env):
    assert datetime.now(timezone.utc) == durable_env.now()
    durable_env.sleep(timedelta(days=3))
    assert time.time() == durable_env.now().timestamp()
    assert datetime.now(timezone.utc).date().isoformat() == "2000-01-04"

def test_real_clock_is_back_after_the_test():
    assert datetime.now(timezone.utc).year >= 2024
"""

REAL_CLOCK_TEST = """
from datetime import datetime, timezone

def test_real(durable_env):
    assert datetime.now(timezone.utc).year >= 2024
    assert durable_env.now().year == 2000
"""


def test_default_leaves_the_wall_clock_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(REAL_CLOCK_TEST)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "patch_time=off" in header_line(result)


@pytest.mark.parametrize("backend", ["time-machine", "freezegun"])
def test_option_patches_with_either_library(pytester: pytest.Pytester, backend: str) -> None:
    pytester.makepyfile(WALL_CLOCK_TEST)
    result = pytester.runpytest(f"--durable-patch-time={backend}")
    result.assert_outcomes(passed=2)
    assert f"patch_time={backend}" in header_line(result)


def test_activity_code_sees_virtual_time(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import time
        from datetime import timedelta
        from pytest_durable import activity, workflow

        @activity.defn
        def stamp() -> float:
            return time.time()

        @workflow.defn
        class Stamped:
            @workflow.run
            async def run(self) -> float:
                await workflow.sleep(timedelta(hours=5))
                return await workflow.execute_activity(
                    stamp, start_to_close_timeout=timedelta(seconds=5)
                )

        def test_stamp(durable_env):
            assert durable_env.run(Stamped.run).result() == 946_684_800 + 5 * 3600
        """
    )
    pytester.runpytest("--durable-patch-time=time-machine").assert_outcomes(passed=1)


def test_ini_key_patches_and_the_option_wins(pytester: pytest.Pytester) -> None:
    write_ini(pytester, "durable_patch_time = time-machine")
    pytester.makepyfile(WALL_CLOCK_TEST)
    pytester.runpytest().assert_outcomes(passed=2)
    pytester.makepyfile(REAL_CLOCK_TEST)
    pytester.runpytest("--durable-patch-time=off").assert_outcomes(passed=1)


def test_marker_turns_patching_on_and_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from datetime import datetime, timezone
        import pytest

        @pytest.mark.durable(patch_time=True)
        def test_on(durable_env):
            assert durable_env.patch_time == "time-machine"
            assert datetime.now(timezone.utc).year == 2000

        @pytest.mark.durable(patch_time="freezegun")
        def test_freezegun(durable_env):
            assert durable_env.patch_time == "freezegun"
            assert datetime.now(timezone.utc).year == 2000

        @pytest.mark.durable(patch_time=False)
        def test_off(durable_env):
            assert durable_env.patch_time is None
            assert datetime.now(timezone.utc).year >= 2024
        """
    )
    pytester.runpytest("--durable-patch-time=time-machine").assert_outcomes(passed=3)


def test_a_missing_library_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hide freezegun from find_spec (the plugin must not import it to check).
    import importlib.util

    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> object:
        return None if name == "freezegun" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    result = pytester.runpytest("--durable-patch-time=freezegun")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --durable-patch-time: patch_time='freezegun' needs the freezegun package, "
            "which is not installed: pip install freezegun, or set patch_time to off"
        ]
    )
