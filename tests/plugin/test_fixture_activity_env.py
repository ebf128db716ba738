"""The ``activity_env`` fixture: unit-test one activity, on virtual time."""

from __future__ import annotations

import pytest

from ._support import write_ini

ACTIVITIES = """
import asyncio
import time
from datetime import timedelta

from pytest_durable import activity


@activity.defn
def export_pages(pages: int) -> int:
    for page in range(pages):
        activity.heartbeat(page)
    return pages


@activity.defn
async def wait_then_stamp() -> tuple[str, float]:
    await asyncio.sleep(3600)
    return activity.info().activity_type, time.time()
"""


def test_runs_an_activity_with_heartbeats(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(activities=ACTIVITIES)
    pytester.makepyfile(
        """
        from pytest_durable.fixtures import ActivityEnvironment
        from activities import export_pages

        def test_export(activity_env):
            assert isinstance(activity_env, ActivityEnvironment)
            assert activity_env.run(export_pages, 3) == 3
            assert activity_env.heartbeats == [(0,), (1,), (2,)]
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_each_test_gets_a_fresh_environment(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(activities=ACTIVITIES)
    pytester.makepyfile(
        """
        import pytest
        from activities import export_pages

        @pytest.mark.parametrize("pages", [1, 2])
        def test_export(activity_env, pages):
            activity_env.run(export_pages, pages)
            assert len(activity_env.heartbeats) == pages
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_start_time_and_patch_time_come_from_options_and_marker(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(activities=ACTIVITIES)
    pytester.makepyfile(
        """
        from datetime import datetime, timezone
        import pytest
        from activities import wait_then_stamp

        def test_option(activity_env):
            assert activity_env.now() == datetime(2030, 1, 1, tzinfo=timezone.utc)
            kind, stamp = activity_env.run(wait_then_stamp)
            assert kind == "wait_then_stamp"
            assert stamp == datetime(2030, 1, 1, 1, tzinfo=timezone.utc).timestamp()

        @pytest.mark.durable(start_time="2040-01-01T00:00:00Z", patch_time=False)
        def test_marker(activity_env):
            assert activity_env.now().year == 2040
            kind, stamp = activity_env.run(wait_then_stamp)
            assert datetime.fromtimestamp(stamp, timezone.utc).year >= 2024
        """
    )
    result = pytester.runpytest(
        "--durable-start-time=2030-01-01T00:00:00Z", "--durable-patch-time=time-machine"
    )
    result.assert_outcomes(passed=2)


def test_async_test_with_activity_env_runs_without_an_async_plugin(
    pytester: pytest.Pytester,
) -> None:
    write_ini(pytester, asyncio=False)
    pytester.makepyfile(activities=ACTIVITIES)
    pytester.makepyfile(
        """
        import asyncio
        from activities import export_pages

        async def test_export(activity_env):
            await asyncio.sleep(0)
            assert activity_env.run(export_pages, 2) == 2
        """
    )
    pytester.runpytest("-p", "no:asyncio").assert_outcomes(passed=1)
