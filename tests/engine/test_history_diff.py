"""Aligned history diffs: insertions, removals and changes, without the renumbering noise."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from pytest_durable import DurableEnvironment, History, activity, workflow
from pytest_durable.engine import RUN_IDENTITY_KEYS, align_histories, diff_histories
from pytest_durable.engine import events as ev

TIMEOUT = timedelta(seconds=10)
MakeEnv = Callable[..., DurableEnvironment]


@activity.defn
async def step(label: str) -> str:
    return label


@workflow.defn(name="Steps")
class Steps:
    @workflow.run
    async def run(self, labels: list[str]) -> list[str]:
        out = []
        for label in labels:
            if label == "nap":
                await workflow.sleep(timedelta(minutes=1))
            else:
                done = await workflow.execute_activity(step, label, start_to_close_timeout=TIMEOUT)
                out.append(done)
        return out


def run(env: DurableEnvironment, *labels: str) -> History:
    return env.run(Steps.run, list(labels), id="steps").history


def test_equal_histories_have_no_changes(env: DurableEnvironment) -> None:
    history = run(env, "a", "nap", "b")
    assert align_histories(history, history) == []
    assert diff_histories(history, history) == []


def test_a_removed_activity_is_one_removal(make_env: MakeEnv) -> None:
    before = run(make_env(), "a", "b", "nap", "c")
    after = run(make_env(), "a", "nap", "c")
    changes = align_histories(before, after, ignore=RUN_IDENTITY_KEYS)
    removed = [c for c in changes if c.kind == "removed"]
    assert [c.expected.kind for c in removed if c.expected is not None] == [
        "WorkflowTaskCompleted",
        "ActivityTaskScheduled",
        "ActivityTaskStarted",
        "ActivityTaskCompleted",
    ]
    # Only the input and the result differ among the aligned events: the timer and activity
    # 'c' moved (new ids, renumbered references and default activity ids) but did not change.
    changed = [c for c in changes if c.kind == "changed"]
    assert len(changed) == 2
    started, result = changed
    assert started.fields == (("input", [["a", "b", "nap", "c"]], [["a", "nap", "c"]]),)
    assert isinstance(result.expected, ev.WorkflowExecutionCompleted)
    assert result.fields == (("result", ["a", "b", "c"], ["a", "c"]),)
    lines = diff_histories(before, after, ignore=RUN_IDENTITY_KEYS)
    assert f"event {before[-1].event_id} (event {after[-1].event_id} in actual):" in lines
    assert "    result: ['a', 'b', 'c'] -> ['a', 'c']" in lines
    assert lines.count("  - ActivityTaskCompleted  scheduled_event_id=7 result=\"b\"") == 1


def test_a_changed_argument_after_an_insertion_is_reported_once(make_env: MakeEnv) -> None:
    before = run(make_env(), "a", "b")
    after = run(make_env(), "x", "a", "B")
    changes = align_histories(before, after, ignore=RUN_IDENTITY_KEYS)
    kinds = [c.kind for c in changes]
    assert kinds.count("inserted") == 4
    # Activity 'b' became 'B': its schedule and its result changed, nothing else did.
    changed = [
        (c.expected.kind, c.fields) for c in changes if c.kind == "changed" and c.expected
    ]
    assert ("ActivityTaskScheduled", (("input", ["b"], ["B"]),)) in changed
    assert ("ActivityTaskCompleted", (("result", "b", "B"),)) in changed


def test_run_identity_is_compared_unless_ignored(make_env: MakeEnv) -> None:
    one = make_env(seed=1).run(Steps.run, ["a"], id="steps").history
    two = make_env(seed=2).run(Steps.run, ["a"], id="steps").history
    changes = align_histories(one, two)
    assert [c.kind for c in changes] == ["changed"]
    keys = {key for key, _, _ in changes[0].fields}
    assert keys == {"run_id", "randomness_seed", "first_run_id"}
    assert align_histories(one, two, ignore=RUN_IDENTITY_KEYS) == []


def test_a_reference_to_another_event_is_a_change(env: DurableEnvironment) -> None:
    history = run(env, "a", "b")
    events = list(history)
    completed = [e for e in events if isinstance(e, ev.ActivityTaskCompleted)][1]
    first = history.of_kind(ev.ActivityTaskScheduled)[0].event_id
    moved = ev.ActivityTaskCompleted(
        event_id=completed.event_id,
        time_ns=completed.time_ns,
        scheduled_event_id=first,
        result=completed.result,
    )
    edited = [moved if e is completed else e for e in events]
    (change,) = align_histories(history, edited)
    assert change.fields == (("scheduled_event_id", completed.scheduled_event_id, first),)
