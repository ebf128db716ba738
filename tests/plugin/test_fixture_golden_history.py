"""The ``golden_history`` fixture: write, compare, replay, update, unused, partial runs, xdist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_durable import History

TESTS = """
import pytest
from workflows import Greeter

@pytest.mark.parametrize("name", ["ada", "bob"])
def test_greets(durable_env, golden_history, name):
    run = durable_env.run(Greeter.run, name, id=f"greet-{name}")
    golden_history.check(run)

def test_plain():
    pass
"""

GOLDENS = Path("__goldens__") / "test_greet"


def golden(pytester: pytest.Pytester, name: str) -> Path:
    return pytester.path / GOLDENS / f"{name}.json"


def write_and_run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_greet=TESTS)
    return pytester.runpytest(*args)


def test_a_missing_golden_fails_and_says_how_to_write_it(pytester: pytest.Pytester) -> None:
    result = write_and_run(pytester)

    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*GoldenHistoryError: no golden history yet for this check: "
            "__goldens__/test_greet/test_greets[[]ada[]].json. To write it, re-run with "
            "--durable-update-goldens (ini: durable_update_goldens = true)*",
        ]
    )
    assert not (pytester.path / "__goldens__").exists()


def test_update_writes_goldens_and_lists_them(pytester: pytest.Pytester) -> None:
    result = write_and_run(pytester, "--durable-update-goldens")

    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*- durable golden histories -*",
            "golden histories: 2 written",
            "  written  __goldens__/test_greet/test_greets[[]ada[]].json",
            "  written  __goldens__/test_greet/test_greets[[]bob[]].json",
        ]
    )
    written = History.load(golden(pytester, "test_greets[ada]"))
    assert written.workflow_id == "greet-ada"
    assert written.status == "completed"
    # The canonical JSON document, as History.save writes it.
    assert golden(pytester, "test_greets[ada]").read_text() == written.to_json()

    # The next run compares against them and passes, writing nothing.
    again = pytester.runpytest()
    again.assert_outcomes(passed=3)
    assert "golden histories" not in again.stdout.str()


def test_the_ini_twin_updates_too(pytester: pytest.Pytester) -> None:
    from ._support import write_ini

    write_ini(pytester, "durable_update_goldens = true")
    result = write_and_run(pytester)

    result.assert_outcomes(passed=3)
    assert golden(pytester, "test_greets[bob]").exists()
    result.stdout.fnmatch_lines(["durable: *update_goldens=yes*"])


def test_a_mismatch_fails_with_an_event_diff_and_writes_the_received_history(
    pytester: pytest.Pytester,
) -> None:
    write_and_run(pytester, "--durable-update-goldens").assert_outcomes(passed=3)
    path = golden(pytester, "test_greets[ada]")
    # The recorded run greeted someone else: the activity's input and result differ.
    path.write_text(path.read_text().replace('"ada"', '"eve"').replace("hello ada", "hello eve"))

    result = pytester.runpytest()

    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*GoldenHistoryError: the run's history differs from its golden "
            "__goldens__/test_greet/test_greets[[]ada[]].json:",
            "*--- __goldens__/test_greet/test_greets[[]ada[]].json",
            "*+++ this run",
            "*event 1:*",
            "*input: [[]'eve'[]] -> [[]'ada'[]]",
            "*ActivityTaskScheduled*",
            "*The run's history was written to "
            "__goldens__/test_greet/test_greets[[]ada[]].received.json*If the change is "
            "intended, re-run with --durable-update-goldens*",
        ]
    )
    received = History.load(pytester.path / GOLDENS / "test_greets[ada].received.json")
    assert received.started.input == ["ada"]
    assert History.load(path).started.input == ["eve"]  # the golden is untouched

    # Updating accepts the change, rewrites the golden and removes the received file.
    updated = pytester.runpytest("--durable-update-goldens")
    updated.assert_outcomes(passed=3)
    updated.stdout.fnmatch_lines(["golden histories: 1 updated", "  updated  *ada*"])
    assert History.load(path).started.input == ["ada"]
    assert not (pytester.path / GOLDENS / "test_greets[ada].received.json").exists()


def test_run_identity_is_not_compared(pytester: pytest.Pytester) -> None:
    write_and_run(pytester, "--durable-update-goldens", "--durable-seed=1")

    # Another seed means other run ids: the behaviour is the same, so the goldens hold.
    pytester.runpytest("--durable-seed=2").assert_outcomes(passed=3)


REPLAYED = """
from datetime import timedelta
from pytest_durable import workflow, activity

@activity.defn
async def greet(name: str) -> str:
    return f"hello {name}"

@workflow.defn
class Greeter:
    @workflow.run
    async def run(self, name: str) -> str:
        {body}
"""

V1 = """await workflow.sleep(timedelta(days=1))
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=5)
        )"""

V2_UNGUARDED = """await workflow.execute_activity(
            greet, "first", start_to_close_timeout=timedelta(seconds=5)
        )
        await workflow.sleep(timedelta(days=1))
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=5)
        )"""

V2_PATCHED = """if workflow.patched("greet-first"):
            await workflow.execute_activity(
                greet, "first", start_to_close_timeout=timedelta(seconds=5)
            )
        await workflow.sleep(timedelta(days=1))
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=5)
        )"""


def test_a_change_that_breaks_replay_of_the_golden_is_a_nondeterminism_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(versioned=REPLAYED.replace("{body}", V1))
    pytester.makepyfile(
        test_versioned="""
        from versioned import Greeter

        def test_order(durable_env, golden_history):
            golden_history.check(durable_env.run(Greeter.run, "ada", id="g"))
        """
    )
    pytester.runpytest("--durable-update-goldens").assert_outcomes(passed=1)

    pytester.makepyfile(versioned=REPLAYED.replace("{body}", V2_UNGUARDED))
    broken = pytester.runpytest()

    broken.assert_outcomes(failed=1)
    text = broken.stdout.str()
    broken.stdout.fnmatch_lines(
        [
            "*NondeterminismError: today's code no longer replays the golden history "
            "__goldens__/test_versioned/test_order.json: runs recorded before this change "
            "would break.",
            "*nondeterminism at event 3*",
            "*at:*versioned.py:12",
            "*guard it with `if workflow.patched(*",
            "*Once no run recorded before the change can still be in flight, re-run with "
            "--durable-update-goldens to record the new behaviour.",
            "*(The new run's history also differs from the golden; it was written to "
            "__goldens__/test_versioned/test_order.received.json.)",
        ]
    )
    assert "GoldenHistoryError" not in text

    # Guarded by patched(), the old golden replays; the new run takes the new branch, so its
    # history differs (a plain difference, reviewed and accepted with the update flag).
    pytester.makepyfile(versioned=REPLAYED.replace("{body}", V2_PATCHED))
    guarded = pytester.runpytest()
    guarded.assert_outcomes(failed=1)
    guarded.stdout.fnmatch_lines(
        ["*GoldenHistoryError: the run's history differs*", "*MarkerRecorded*"]
    )
    assert "NondeterminismError" not in guarded.stdout.str()


def test_several_checks_in_one_test_get_their_own_files(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_many="""
        from workflows import Greeter, Dice

        def test_two(durable_env, golden_history):
            golden_history.check(durable_env.run(Greeter.run, "a", id="a"))
            golden_history.check(durable_env.run(Greeter.run, "b", id="b"))
            golden_history.check(durable_env.run(Dice.run, id="d"), name="dice")
        """
    )
    pytester.runpytest("--durable-update-goldens").assert_outcomes(passed=1)
    folder = pytester.path / "__goldens__" / "test_many"
    assert sorted(p.name for p in folder.iterdir()) == [
        "test_two.2.json",
        "test_two.dice.json",
        "test_two.json",
    ]
    assert History.load(folder / "test_two.2.json").workflow_id == "b"
    pytester.runpytest().assert_outcomes(passed=1)


# --- unused goldens, and what may be deleted ----------------------------------------------------


def _with_stale_golden(pytester: pytest.Pytester) -> Path:
    write_and_run(pytester, "--durable-update-goldens").assert_outcomes(passed=3)
    stale = golden(pytester, "test_removed")
    stale.write_text(golden(pytester, "test_greets[ada]").read_text())
    return stale


def test_unused_goldens_are_listed_and_kept_without_update(pytester: pytest.Pytester) -> None:
    stale = _with_stale_golden(pytester)

    result = pytester.runpytest()

    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "golden histories: 1 unused",
            "  unused   __goldens__/test_greet/test_removed.json",
            "  no test used them; run the whole suite with --durable-update-goldens to delete "
            "them",
        ]
    )
    assert stale.exists()


def test_update_on_a_whole_run_deletes_unused_goldens(pytester: pytest.Pytester) -> None:
    stale = _with_stale_golden(pytester)
    orphan = pytester.path / "__goldens__" / "test_deleted_module" / "test_x.json"
    orphan.parent.mkdir()
    orphan.write_text(stale.read_text())

    result = pytester.runpytest("--durable-update-goldens")

    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "golden histories: 2 deleted",
            "  deleted  __goldens__/test_deleted_module/test_x.json",
            "  deleted  __goldens__/test_greet/test_removed.json",
        ]
    )
    assert not stale.exists()
    assert not orphan.exists()
    assert golden(pytester, "test_greets[ada]").exists()


@pytest.mark.parametrize(
    "selection",
    [
        ["-k", "ada or plain or removed"],
        ["test_greet.py::test_plain"],
        ["--deselect", "test_greet.py::test_plain"],
        ["-m", "not slow"],
    ],
    ids=["-k", "node-id", "deselect", "-m"],
)
def test_a_partial_run_deletes_nothing(pytester: pytest.Pytester, selection: list[str]) -> None:
    stale = _with_stale_golden(pytester)
    pytester.makeini(
        "[pytest]\naddopts = -p no:benchmark\nfilterwarnings = error\nmarkers = slow\n"
        "asyncio_default_fixture_loop_scope = function\n"
    )

    result = pytester.runpytest("--durable-update-goldens", *selection)

    assert result.ret == 0
    assert "  deleted  " not in result.stdout.str()
    assert stale.exists()
    assert golden(pytester, "test_greets[ada]").exists()
    assert golden(pytester, "test_greets[bob]").exists()


def test_a_stopped_run_judges_nothing(pytester: pytest.Pytester) -> None:
    stale = _with_stale_golden(pytester)
    pytester.makepyfile(test_aaa_first="def test_fails():\n    assert False\n")

    result = pytester.runpytest("--durable-update-goldens", "-x")

    result.assert_outcomes(failed=1)
    assert "unused" not in result.stdout.str()
    assert stale.exists()


def test_goldens_of_a_failed_or_skipped_test_are_kept(pytester: pytest.Pytester) -> None:
    write_and_run(pytester, "--durable-update-goldens").assert_outcomes(passed=3)
    pytester.makepyfile(
        test_greet="""
        import pytest

        @pytest.mark.parametrize("name", ["ada", "bob"])
        def test_greets(durable_env, golden_history, name):
            if name == "ada":
                pytest.skip("not today")
            assert False, "broke before its check"

        def test_plain():
            pass
        """
    )

    result = pytester.runpytest("--durable-update-goldens")

    result.assert_outcomes(passed=1, failed=1, skipped=1)
    assert "golden histories" not in result.stdout.str()
    assert golden(pytester, "test_greets[ada]").exists()
    assert golden(pytester, "test_greets[bob]").exists()


# --- bad goldens ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda text: text[: len(text) // 2], "*not valid JSON at line * column *"),
        (lambda text: "{ this is not json", "*not valid JSON at line 1 column 3*"),
        (
            lambda text: text.replace('"version": 1', '"version": 99'),
            "*history format version 99 is newer than this pytest-durable understands*",
        ),
        (
            lambda text: text.replace('"type": "TimerFired"', '"type": "TimerFried"'),
            "*events[[]3[]]: unknown event type 'TimerFried'*",
        ),
        (
            lambda text: text.replace('"workflow_id": "greet-ada"', '"workflow_id": "x"', 1),
            "*header workflow_id 'x' does not match the first event's 'greet-ada'*",
        ),
    ],
    ids=["truncated", "invalid-json", "newer-version", "unknown-event", "edited-header"],
)
def test_a_damaged_golden_names_the_file_the_place_and_the_fix(
    pytester: pytest.Pytester, damage: object, expected: str
) -> None:
    write_and_run(pytester, "--durable-update-goldens").assert_outcomes(passed=3)
    path = golden(pytester, "test_greets[ada]")
    assert callable(damage)
    path.write_text(damage(path.read_text()))

    result = pytester.runpytest()

    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*GoldenHistoryError: the golden history "
            "*__goldens__/test_greet/test_greets[[]ada[]].json*",
        ]
    )
    result.stdout.fnmatch_lines([expected])
    result.stdout.fnmatch_lines(
        [
            "*the file is damaged (truncated, or edited by hand?). Restore it from version "
            "control, or re-run with --durable-update-goldens*"
        ]
    )
    # Updating repairs it.
    pytester.runpytest("--durable-update-goldens").assert_outcomes(passed=3)
    assert History.load(path).workflow_id == "greet-ada"


def test_a_golden_of_another_workflow_type_says_so(pytester: pytest.Pytester) -> None:
    write_and_run(pytester, "--durable-update-goldens").assert_outcomes(passed=3)
    pytester.makepyfile(
        test_greet="""
        import pytest
        from workflows import Dice

        @pytest.mark.parametrize("name", ["ada", "bob"])
        def test_greets(durable_env, golden_history, name):
            golden_history.check(durable_env.run(Dice.run, id=f"greet-{name}"))
        """
    )

    result = pytester.runpytest()

    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*GoldenHistoryError: __goldens__/test_greet/test_greets[[]ada[]].json is the golden "
            "of a 'Greeter' workflow, but this check got a 'Dice' run. If the workflow was "
            "renamed, re-run with --durable-update-goldens*"
        ]
    )


# --- pytest-xdist ---------------------------------------------------------------------------


def test_under_xdist_goldens_are_written_compared_and_judged_once(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_many="""
        import pytest
        from workflows import Greeter

        @pytest.mark.parametrize("n", range(12))
        def test_many(durable_env, golden_history, n):
            golden_history.check(durable_env.run(Greeter.run, str(n), id=f"w{n}"))
        """
    )
    first = pytester.runpytest("-n", "2", "--durable-update-goldens")

    first.assert_outcomes(passed=12)
    first.stdout.fnmatch_lines(["golden histories: 12 written"])
    folder = pytester.path / "__goldens__" / "test_many"
    files = sorted(folder.glob("*.json"))
    assert len(files) == 12
    for n in range(12):
        history = History.load(folder / f"test_many[{n}].json")
        assert history.workflow_id == f"w{n}"
        assert json.loads((folder / f"test_many[{n}].json").read_text())["events"]
    assert not list(folder.glob(".*"))  # no temporary file left behind

    stale = folder / "test_gone.json"
    stale.write_text(files[0].read_text())
    second = pytester.runpytest("-n", "2")
    second.assert_outcomes(passed=12)
    second.stdout.fnmatch_lines(["golden histories: 1 unused", "  unused   *test_gone.json"])

    partial = pytester.runpytest("-n", "2", "--durable-update-goldens", "-k", "1")
    partial.assert_outcomes(passed=3)
    assert stale.exists()

    whole = pytester.runpytest("-n", "2", "--durable-update-goldens")
    whole.assert_outcomes(passed=12)
    whole.stdout.fnmatch_lines(["golden histories: 1 deleted", "  deleted  *test_gone.json"])
    assert not stale.exists()
    assert len(list(folder.glob("*.json"))) == 12
