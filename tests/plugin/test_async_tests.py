"""``async def`` tests using ``durable_env``: with pytest-asyncio, and without any async plugin."""

from __future__ import annotations

import pytest

from ._support import write_ini

ASYNC_TEST = """
import asyncio
import pathlib
{imports}
from workflows import Greeter

{decorator}
async def test_async(durable_env):
    with pathlib.Path("ran").open("a") as ran:
        ran.write("once\\n")
    await asyncio.sleep(0)
    handle = durable_env.start(Greeter.run, "ada")
    await asyncio.sleep(0)
    assert handle.result() == "hello ada"
    assert durable_env.now().day == 2
"""


def runs(pytester: pytest.Pytester) -> int:
    return (pytester.path / "ran").read_text().count("once")


def test_pytest_asyncio_marker_runs_it_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        ASYNC_TEST.format(imports="import pytest", decorator="@pytest.mark.asyncio")
    )
    pytester.runpytest().assert_outcomes(passed=1)
    assert runs(pytester) == 1


def test_pytest_asyncio_auto_mode_runs_it_once(pytester: pytest.Pytester) -> None:
    write_ini(pytester, "asyncio_mode = auto")
    pytester.makepyfile(ASYNC_TEST.format(imports="", decorator=""))
    pytester.runpytest().assert_outcomes(passed=1)
    assert runs(pytester) == 1


def test_unclaimed_in_strict_mode_the_plugin_runs_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(ASYNC_TEST.format(imports="", decorator=""))
    pytester.runpytest().assert_outcomes(passed=1)
    assert runs(pytester) == 1


def test_without_pytest_asyncio_the_plugin_runs_it(pytester: pytest.Pytester) -> None:
    write_ini(pytester, asyncio=False)
    pytester.makepyfile(ASYNC_TEST.format(imports="", decorator=""))
    result = pytester.runpytest("-p", "no:asyncio")
    result.assert_outcomes(passed=1)
    assert "asyncio-" not in result.stdout.str(), "pytest-asyncio was not disabled"
    assert runs(pytester) == 1


def test_async_tests_without_our_fixtures_are_left_alone(pytester: pytest.Pytester) -> None:
    write_ini(pytester, asyncio=False)
    pytester.makepyfile(
        """
        async def test_not_ours():
            pass
        """
    )
    result = pytester.runpytest("-p", "no:asyncio")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*async def functions are not natively supported*"])


def test_async_failure_is_reported_with_its_timeline(pytester: pytest.Pytester) -> None:
    write_ini(pytester, asyncio=False)
    pytester.makepyfile(
        """
        from workflows import Failing

        async def test_fails(durable_env):
            durable_env.run(Failing.run, id="async-order").result()
        """
    )
    result = pytester.runpytest("-p", "no:asyncio")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*out of stock*", "*- durable timeline -*", "workflow 'async-order' (Failing)*"]
    )


def test_plugin_run_async_test_gets_its_other_fixtures(pytester: pytest.Pytester) -> None:
    write_ini(pytester, asyncio=False)
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def name():
            return "grace"

        class TestInClass:
            @pytest.mark.parametrize("n", [1, 2])
            async def test_args(self, durable_env, name, n):
                assert (name, n) in {("grace", 1), ("grace", 2)}
        """
    )
    pytester.runpytest("-p", "no:asyncio").assert_outcomes(passed=2)
