"""Recorded histories as tests: ``durable_history_paths`` and ``durable_workflow_modules``."""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pytest_durable import DurableEnvironment, History
from pytest_durable.engine._events import EVENT_TYPES

from ._support import write_ini

CORPUS = Path(__file__).parents[1] / "histories" / "corpus"


def record_greeter(pytester: pytest.Pytester, name: str = "greet.json") -> Path:
    """Record a Greeter run (``workflows.py`` of the pytester folder) into histories/."""
    sys.path.insert(0, str(pytester.path))
    try:
        from workflows import Greeter  # type: ignore[import-not-found]

        with DurableEnvironment(start_time=datetime(2030, 1, 1, tzinfo=UTC)) as env:
            env.mock_activity("greet", returns="hello ada")
            history = env.run(Greeter.run, "ada", id="g-1").history
    finally:
        sys.path.remove(str(pytester.path))
        sys.modules.pop("workflows", None)
    return history.save(pytester.path / "histories" / name)


@pytest.fixture
def recorded(pytester: pytest.Pytester) -> pytest.Pytester:
    write_ini(
        pytester,
        "pythonpath = .",
        "durable_history_paths = histories",
        "durable_workflow_modules = workflows",
    )
    record_greeter(pytester)
    return pytester


def test_each_history_file_is_a_test_that_replays_it(recorded: pytest.Pytester) -> None:
    shutil.copy(recorded.path / "histories" / "greet.json", recorded.path / "histories" / "b.json")
    (recorded.path / "histories" / "notes.txt").write_text("not a history")
    (recorded.path / "histories" / "greet.received.json").write_text("{}")

    result = recorded.runpytest("histories", "-v")

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["histories/b.json::replay PASSED*", "histories/greet.json::replay PASSED*"]
    )


def test_a_change_that_breaks_replay_fails_with_the_event_and_the_line(
    recorded: pytest.Pytester,
) -> None:
    workflows = recorded.path / "workflows.py"
    workflows.write_text(
        workflows.read_text().replace(
            "        await workflow.sleep(timedelta(days=1))\n",
            "        await workflow.execute_activity(\n"
            '            greet, "first", start_to_close_timeout=timedelta(seconds=5)\n'
            "        )\n"
            "        await workflow.sleep(timedelta(days=1))\n",
            1,
        )
    )

    result = recorded.runpytest("histories")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ replay histories/greet.json _*",
            "NondeterminismError: histories/greet.json: today's code no longer replays this "
            "recorded history.",
            "nondeterminism at event 3: *ScheduleActivity(activity_type='greet')*",
            "*at:*workflows.py:*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "{ not json",
            "*histories/bad.json: not valid JSON at line 1 column 3*. Restore the file from "
            "version control, or re-record it*",
        ),
        (
            '{"format": "something else"}',
            "*histories/bad.json: not a pytest-durable history*. Restore the file*",
        ),
        (
            None,  # the Greeter history with its version bumped
            "*histories/bad.json: history format version 2 is newer than this pytest-durable "
            "understands (up to 1); upgrade pytest-durable to read it",
        ),
    ],
    ids=["invalid-json", "not-a-history", "newer-version"],
)
def test_an_unreadable_file_is_an_error_of_its_own_item(
    recorded: pytest.Pytester, content: str | None, expected: str
) -> None:
    good = recorded.path / "histories" / "greet.json"
    text = good.read_text().replace('"version": 1', '"version": 2') if content is None else content
    (recorded.path / "histories" / "bad.json").write_text(text)

    result = recorded.runpytest("histories")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*_ replay histories/bad.json _*", f"RecordedHistoryError: {expected.lstrip('*')}"]
    )


def test_an_unknown_workflow_type_names_the_modules_and_the_fix(
    recorded: pytest.Pytester,
) -> None:
    good = recorded.path / "histories" / "greet.json"
    (recorded.path / "histories" / "other.json").write_text(
        good.read_text().replace('"Greeter"', '"Invoicing"')
    )

    result = recorded.runpytest("histories")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "RecordedHistoryError: histories/other.json: the history is of workflow type "
            "'Invoicing', which no module of durable_workflow_modules (workflows) defines; they "
            "define: Busy, Dice, Failing, Greeter, Nondeterministic. Add the module that defines "
            "'Invoicing' to durable_workflow_modules (ini key durable_workflow_modules in *)."
        ]
    )


def test_two_classes_of_one_type_must_be_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        versions="""
        from pytest_durable import workflow

        @workflow.defn(name="Greeter")
        class GreeterV1:
            @workflow.run
            async def run(self, name: str) -> str:
                return name

        @workflow.defn(name="Greeter")
        class GreeterV2:
            @workflow.run
            async def run(self, name: str) -> str:
                return name
        """
    )
    write_ini(
        pytester,
        "pythonpath = .",
        "durable_history_paths = histories",
        "durable_workflow_modules = versions",
    )
    record_greeter(pytester)

    result = pytester.runpytest("histories")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "RecordedHistoryError: histories/greet.json: several classes are workflow type "
            "'Greeter' (versions:GreeterV1, versions:GreeterV2); name the one that replays "
            "recorded histories as 'module:Class' in durable_workflow_modules*"
        ]
    )
    # Naming the class settles it; the v1 class does not replay this history (no sleep).
    write_ini(
        pytester,
        "pythonpath = .",
        "durable_history_paths = histories",
        "durable_workflow_modules = versions:GreeterV1",
    )
    named = pytester.runpytest("histories")
    named.assert_outcomes(failed=1)
    named.stdout.fnmatch_lines(["NondeterminismError: histories/greet.json*"])


@pytest.mark.parametrize(
    ("modules", "expected"),
    [
        (
            "shop.nowhere",
            "*cannot import 'shop.nowhere': ModuleNotFoundError: No module named 'shop'. Fix the "
            "module name, or make it importable*",
        ),
        ("workflows:Nope", "*'workflows:Nope': workflows has no workflow class 'Nope'*"),
        ("_support_free", "*'_support_free' defines no workflow class (@workflow.defn)*"),
    ],
    ids=["import-error", "no-such-class", "no-workflows"],
)
def test_bad_workflow_modules_fail_each_replay_with_the_reason(
    pytester: pytest.Pytester, modules: str, expected: str
) -> None:
    pytester.makepyfile(_support_free="X = 1\n")
    write_ini(
        pytester,
        "pythonpath = .",
        "durable_history_paths = histories",
        f"durable_workflow_modules = {modules}",
    )
    record_greeter(pytester)

    result = pytester.runpytest("histories")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "RecordedHistoryError: histories/greet.json: ini key durable_workflow_modules in "
            f"*{expected}"
        ]
    )


def test_a_history_path_that_does_not_exist_stops_the_run(pytester: pytest.Pytester) -> None:
    write_ini(
        pytester, "durable_history_paths = recorded/", "durable_workflow_modules = workflows"
    )

    result = pytester.runpytest()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: ini key durable_history_paths in *tox.ini: */recorded is not a folder "
            "(paths are relative to the ini file's folder); create it, fix the path, or remove "
            "the entry"
        ]
    )


def test_history_paths_need_workflow_modules(pytester: pytest.Pytester) -> None:
    (pytester.path / "histories").mkdir()
    write_ini(pytester, "durable_history_paths = histories")

    result = pytester.runpytest()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: ini key durable_history_paths in *: recorded histories need their workflow code*"]
    )


def test_json_files_elsewhere_are_not_collected(recorded: pytest.Pytester) -> None:
    (recorded.path / "config.json").write_text("{}")
    recorded.makepyfile(test_plain="def test_plain():\n    pass\n")

    result = recorded.runpytest()

    result.assert_outcomes(passed=2)  # the plain test and histories/greet.json


# --- the project's own corpus ---------------------------------------------------------------------


def test_the_corpus_holds_every_kind_of_event() -> None:
    kinds = {event.kind for path in CORPUS.glob("*.json") for event in History.load(path)}

    assert kinds == set(EVENT_TYPES), (
        f"the replay corpus lacks {sorted(set(EVENT_TYPES) - kinds)}: add a scenario to "
        "tests/histories/record_corpus.py and run it"
    )


def test_the_corpus_is_what_its_scenarios_record_today(tmp_path: Path) -> None:
    sys.path.insert(0, str(CORPUS.parent))
    try:
        import record_corpus  # type: ignore[import-not-found]

        written = record_corpus.record(tmp_path)
    finally:
        sys.path.remove(str(CORPUS.parent))
    assert sorted(p.name for p in written) == sorted(p.name for p in CORPUS.glob("*.json"))
    for path in written:
        assert path.read_text() == (CORPUS / path.name).read_text(), (
            f"{path.name} differs from what record_corpus.py records now; if intended, run "
            "python tests/histories/record_corpus.py and review the diff"
        )
