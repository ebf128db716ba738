"""The command line: show, diff and replay history files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_durable import DurableEnvironment
from pytest_durable.__main__ import main

from .cli_workflows import AuditedGreeter, Greeter

HERE = Path(__file__).parent


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    with DurableEnvironment() as env:
        handle = env.run(Greeter.run, "ada", id="greet-1")
        assert handle.result() == "hello ada"
        return handle.history.save(tmp_path / "greet.json")


def test_show_prints_a_timeline(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(recorded)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Greeter id=greet-1 run=")
    assert "TimerStarted  timer_id=\"1\" duration=\"3600s\"" in out
    assert "2000-01-01T01:00:00Z  TimerFired" in out


def test_show_json_is_the_canonical_document(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "--json", str(recorded)]) == 0
    assert capsys.readouterr().out == recorded.read_text()


def test_diff_of_equal_files(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(recorded), str(recorded)]) == 0
    assert "same" in capsys.readouterr().out


def test_diff_names_the_changed_event(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(recorded.read_text())
    doc["events"][2]["duration"] = "7200s"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(doc))
    assert main(["diff", str(recorded), str(changed)]) == 1
    out = capsys.readouterr().out
    assert "event 3:" in out
    assert "duration: '3600s' -> '7200s'" in out


def test_diff_can_ignore_run_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = []
    for seed in (1, 2):
        with DurableEnvironment(seed=seed) as env:
            paths.append(env.run(Greeter.run, "ada", id="g").history.save(tmp_path / f"{seed}"))
    assert main(["diff", str(paths[0]), str(paths[1])]) == 1
    capsys.readouterr()
    assert main(["diff", "--ignore-run-ids", str(paths[0]), str(paths[1])]) == 0


def test_diff_shows_an_inserted_activity_as_one_insertion(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with DurableEnvironment() as env:
        audited = env.run(AuditedGreeter.run, "ada", id="greet-1").history
    path = audited.save(tmp_path / "audited.json")
    assert main(["diff", "--ignore-run-ids", str(recorded), str(path)]) == 1
    out = capsys.readouterr().out
    # The activity's four events (its task, schedule, start, outcome) are the whole diff: the
    # timer, the greeting and the result are aligned with their renumbered partners.
    assert out.count("only in actual") == 4
    assert "only in expected" not in out
    assert " -> " not in out
    assert '+ ActivityTaskScheduled  activity_id="1" activity_type="audit"' in out
    assert 'activity_type="greet"' not in out


def test_replay_ok(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["replay", str(recorded), "--workflow", "cli_workflows:Greeter", "--path", str(HERE)]
    )
    assert status == 0
    assert capsys.readouterr().out.startswith(f"ok   {recorded}")


def test_replay_reports_nondeterminism(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["replay", str(recorded), "--workflow", "cli_workflows:ChangedGreeter", "--path", str(HERE)]
    )
    assert status == 1
    out = capsys.readouterr().out
    assert "FAIL" in out
    assert "nondeterminism at event 3" in out
    assert "cli_workflows.py" in out


def test_corrupt_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["show", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err
    assert "not valid JSON at line 1" in err


def test_bad_workflow_spec(recorded: Path) -> None:
    with pytest.raises(SystemExit, match=r"must look like 'package\.module:WorkflowClass'"):
        main(["replay", str(recorded), "--workflow", "nocolon"])


def test_module_entry_point(recorded: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_durable", "show", str(recorded)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert "WorkflowExecutionCompleted" in done.stdout
