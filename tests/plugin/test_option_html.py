"""The HTML timeline: ``--durable-html=DIR``, ``show --html``, and a real browser."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pytest_durable import ApplicationError, Delay, DurableEnvironment, FaultPlan, History
from pytest_durable.__main__ import main
from pytest_durable.faults import FailAttempt
from pytest_durable.fixtures._html import HISTORY_ONLY_NOTE, render_html, timeline_model
from pytest_durable.testing import assert_compensations

from ._support import WORKFLOWS

CORPUS = Path(__file__).parents[1] / "histories" / "corpus"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


def greeter_run_with_retries(tmp_path: Path) -> DurableEnvironment:
    (tmp_path / "html_workflows.py").write_text(WORKFLOWS)
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        from html_workflows import Greeter  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    env = DurableEnvironment(start_time=datetime(2030, 1, 1, tzinfo=UTC))
    env.mock_activity("greet", outcomes=[ConnectionError("refused"), Delay(10, "x"), "hi"])
    env.run(Greeter.run, "ada", id="greet-1")
    return env


SAGA = '''
from datetime import timedelta

from pytest_durable import ActivityError, RetryPolicy, activity, workflow


@activity.defn
async def html_charge(order: str) -> str:
    return "tx-" + order


@activity.defn
async def html_ship(order: str) -> str:
    return "shipped"


@activity.defn
async def html_refund(tx: str) -> None:
    return None


@workflow.defn
class HtmlSaga:
    """Charge (retried), wait a minute, ship once; refund the charge if shipping fails."""

    @workflow.run
    async def run(self, order: str) -> str:
        timeout = timedelta(seconds=5)
        tx = await workflow.execute_activity(html_charge, order, start_to_close_timeout=timeout)
        try:
            await workflow.sleep(timedelta(minutes=1))
            return await workflow.execute_activity(
                html_ship, order, start_to_close_timeout=timeout,
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ActivityError:
            await workflow.execute_activity(html_refund, tx, start_to_close_timeout=timeout)
            raise
'''
"""A saga whose charge two injected faults fail twice and whose refund compensates it."""

CHARGE_FAULTS = FaultPlan(
    faults=(FailAttempt(activity="html_charge"), FailAttempt(activity="html_charge", attempt=2))
)


def import_source(tmp_path: Path, name: str, source: str) -> Any:
    (tmp_path / f"{name}.py").write_text(source)
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))


def saga_run(tmp_path: Path) -> DurableEnvironment:
    """The saga run live: charge fails twice by injection, ship fails, refund compensates."""
    saga = import_source(tmp_path, "html_saga", SAGA)
    env = DurableEnvironment(start_time=datetime(2030, 1, 1, tzinfo=UTC))
    env.mock_activity(saga.html_charge, returns="tx-1")
    env.mock_activity(saga.html_ship, raises=ApplicationError("no truck", type="NoTruck"))
    env.mock_activity(saga.html_refund, returns=None)
    handle = env.run(saga.HtmlSaga.run, "o-1", id="saga-1", faults=CHARGE_FAULTS)
    assert handle.status == "failed"
    assert_compensations(handle, {saga.html_charge: saga.html_refund})
    return env


def lanes_of(model: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    (section,) = model["sections"]
    return [lane for lane in section["lanes"] if lane["kind"] == kind]


def test_a_live_run_draws_injected_faults_and_the_attempts_they_hit(tmp_path: Path) -> None:
    env = saga_run(tmp_path)
    try:
        model = timeline_model(env.histories(), env.attempts, faults=env.fault_log)
    finally:
        env.close()

    (faults,) = lanes_of(model, "faults")
    assert [(m["cls"], m["label"]) for m in faults["marks"]] == [
        ("fault fail_attempt", "FailAttempt"),
        ("fault fail_attempt", "FailAttempt"),
    ]
    assert "injected failure on attempt 2 of activity 'html_charge'" in faults["marks"][1]["title"]
    charge = next(lane for lane in lanes_of(model, "activity") if "html_charge" in lane["label"])
    assert [(bar["attempt"], bar["cls"]) for bar in charge["bars"]] == [
        (1, "attempt failed retried injected"),
        (2, "attempt failed retried injected"),
        (3, "attempt completed"),
    ]
    assert model["notes"] == []


def test_compensations_are_the_pairs_named_to_assert_compensations(tmp_path: Path) -> None:
    env = saga_run(tmp_path)
    try:
        assert env.compensation_pairs == {"html_charge": "html_refund"}
        model = timeline_model(
            env.histories(), env.attempts, compensations=env.compensation_pairs
        )
    finally:
        env.close()

    activities = {lane["activity_type"]: lane for lane in lanes_of(model, "activity")}
    refund = activities["html_refund"]
    assert refund["compensates"] == "html_charge"
    assert refund["label"] == "activity html_refund #3, compensates html_charge"
    assert [bar["cls"] for bar in refund["bars"]] == ["attempt completed compensation"]
    assert "compensates" not in activities["html_charge"]
    assert all("compensation" not in bar["cls"] for bar in activities["html_ship"]["bars"])
    assert model["notes"] == [
        "Compensations (as named to assert_compensations): html_refund compensates html_charge."
    ]


def test_from_history_alone_earlier_attempts_are_one_span_and_the_page_says_so(
    tmp_path: Path,
) -> None:
    env = saga_run(tmp_path)
    try:
        (history,) = env.histories()
    finally:
        env.close()

    model = timeline_model([History.from_json(history.to_json())])

    charge = next(lane for lane in lanes_of(model, "activity") if "html_charge" in lane["label"])
    earlier, final = charge["bars"]
    assert (earlier["cls"], earlier["attempts"], earlier["label"]) == (
        "attempt earlier unrecorded",
        "1-2",
        "attempts 1-2: retried (not in history)",
    )
    assert (earlier["start"], earlier["end"]) == (charge["scheduled_ns"], final["start"])
    assert (final["attempt"], final["cls"]) == (3, "attempt completed")
    assert lanes_of(model, "faults") == []
    assert model["notes"] == [HISTORY_ONLY_NOTE]


def test_one_earlier_attempt_is_named_alone(tmp_path: Path) -> None:
    env = greeter_run_with_retries(tmp_path)
    try:
        (history,) = env.histories()
        live = timeline_model([history], [])
    finally:
        env.close()

    bars = next(lane for lane in lanes_of(live, "activity"))["bars"]
    assert [bar["cls"] for bar in bars] == ["attempt completed"]  # attempts known: none retried
    assert live["notes"] == []
    history_only = timeline_model([history])
    first = next(lane for lane in lanes_of(history_only, "activity"))["bars"][0]
    assert (first["attempts"], first["label"]) == ("1-2", "attempts 1-2: retried (not in history)")


def test_the_model_has_every_attempt_with_its_outcome(tmp_path: Path) -> None:
    env = greeter_run_with_retries(tmp_path)
    try:
        model = timeline_model(env.histories(), env.attempts)
    finally:
        env.close()

    (section,) = model["sections"]
    (activity,) = [lane for lane in section["lanes"] if lane["kind"] == "activity"]
    assert [(bar["attempt"], bar["cls"]) for bar in activity["bars"]] == [
        (1, "attempt failed retried"),
        (2, "attempt timed-out retried"),
        (3, "attempt completed"),
    ]
    (timer,) = [lane for lane in section["lanes"] if lane["kind"] == "timer"]
    assert timer["bars"][0]["cls"] == "timer fired"
    assert model["labels"][0] == "2030-01-01T00:00:00Z"


def test_the_page_is_self_contained(tmp_path: Path) -> None:
    page = render_html([__import__("pytest_durable").History.load(p) for p in CORPUS.glob("*")])

    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=", page)


def test_show_html_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t" / "order.html"
    source = CORPUS / "order--order-1--1.json"

    assert main(["show", "--html", str(out), str(source)]) == 0

    assert capsys.readouterr().out == f"wrote {out}\n"
    text = out.read_text()
    data = re.search(r'<script type="application/json" id="model">(.*?)</script>', text, re.S)
    assert data is not None
    model = json.loads(data.group(1))
    assert model["sections"][0]["title"].startswith("workflow 'order-1' (Purchase)")


def test_show_html_marks_the_compensations_it_is_told(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = saga_run(tmp_path)
    try:
        source = env.histories()[0].save(tmp_path / "saga.json")
    finally:
        env.close()
    out = tmp_path / "saga.html"

    pair = ["--compensation", "html_charge=html_refund"]
    assert main(["show", "--html", str(out), str(source), *pair]) == 0

    assert capsys.readouterr().out == f"wrote {out}\n"
    page = out.read_text()
    assert '"compensates": "html_charge"' in page
    assert page.count("attempt completed compensation") == 1
    assert json.dumps(HISTORY_ONLY_NOTE) in page


@pytest.mark.parametrize("spec", ["charge", "=refund", "charge= "])
def test_a_compensation_that_is_not_step_equals_undo_is_refused(spec: str) -> None:
    source = str(CORPUS / "order--order-1--1.json")
    with pytest.raises(SystemExit, match=r"--compensation '.*' must look like 'STEP=UNDO'"):
        main(["show", "--html", "out.html", source, "--compensation", spec])


def test_a_compensation_without_html_is_refused() -> None:
    source = str(CORPUS / "order--order-1--1.json")
    with pytest.raises(SystemExit, match=r"marks compensations in the HTML timeline: add --html"):
        main(["show", source, "--compensation", "charge=refund"])


def test_durable_html_draws_faults_and_named_compensations(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(html_saga=SAGA)
    pytester.makepyfile(
        """
        from pytest_durable import ApplicationError
        from pytest_durable.testing import assert_compensations
        from pytest_durable import FaultPlan
        from pytest_durable.faults import FailAttempt
        from html_saga import HtmlSaga, html_charge, html_refund, html_ship

        CHARGE_FAULTS = FaultPlan(
            faults=(FailAttempt(activity=html_charge), FailAttempt(activity=html_charge, attempt=2))
        )

        def test_saga(durable_env):
            durable_env.mock_activity(html_charge, returns="tx-1")
            durable_env.mock_activity(html_ship, raises=ApplicationError("no truck"))
            durable_env.mock_activity(html_refund, returns=None)
            run = durable_env.run(HtmlSaga.run, "o-1", id="saga-1", faults=CHARGE_FAULTS)
            assert_compensations(run, {html_charge: html_refund})
            assert run.status == "completed"
        """
    )
    result = pytester.runpytest("--durable-html=timelines")

    result.assert_outcomes(failed=1)
    (page,) = (pytester.path / "timelines").iterdir()
    text = page.read_text()
    assert text.count('"cls": "fault fail_attempt"') == 2
    assert text.count("attempt failed retried injected") == 2
    assert '"compensates": "html_charge"' in text
    assert "Drawn from history alone" not in text


def test_durable_html_writes_one_file_per_failing_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_durable import Delay
        from workflows import Greeter

        def test_fails(durable_env):
            durable_env.mock_activity("greet", outcomes=[ConnectionError("no"), "hi"])
            durable_env.run(Greeter.run, "ada", id="g")
            assert False

        def test_passes(durable_env):
            durable_env.mock_activity("greet", returns="hi")
            durable_env.run(Greeter.run, "ada", id="g")
        """
    )
    result = pytester.runpytest("--durable-html=timelines")

    result.assert_outcomes(passed=1, failed=1)
    files = sorted((pytester.path / "timelines").iterdir())
    assert [f.name for f in files] == [
        "test_durable_html_writes_one_file_per_failing_test.py.test_fails.html"
    ]
    result.stdout.fnmatch_lines(["*- durable html timeline -*", f"written to {files[0]}"])
    assert "attempt failed retried" in files[0].read_text()


needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="no Chromium here (apt-get install -y chromium); CI installs it and runs this test",
)


def browse(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on ``page`` with ``args`` (a fresh profile each time)."""
    assert CHROMIUM is not None, "CI=true: Chromium must be installed (apt-get install -y chromium)"
    profile = page.parent / f"profile-{len(list(page.parent.iterdir()))}"
    return subprocess.run(
        [CHROMIUM, *BROWSER_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def console_errors(*runs: subprocess.CompletedProcess[str]) -> list[str]:
    return [
        line
        for run in runs
        for line in run.stderr.splitlines()
        if "CONSOLE" in line or "Uncaught" in line
    ]


def rendered_dom(page: Path) -> str:
    dumped = browse(page, "--dump-dom")
    assert 'data-status="rendered"' in dumped.stdout, dumped.stderr[-2000:]
    assert console_errors(dumped) == []
    return dumped.stdout


@needs_chromium
def test_the_timeline_renders_in_a_real_browser(tmp_path: Path) -> None:
    env = greeter_run_with_retries(tmp_path)
    try:
        page = tmp_path / "timeline.html"
        page.write_text(render_html(env.histories(), attempts=env.attempts, title="greet"))
    finally:
        env.close()

    shot = tmp_path / "shot.png"
    screenshot = browse(page, f"--screenshot={shot}", "--window-size=1200,600")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", screenshot.stderr[-2000:]
    assert shot.stat().st_size > 2_000
    assert console_errors(screenshot) == []
    dom = rendered_dom(page)

    bars = re.findall(r'<rect class="bar ([^"]*)"[^>]*data-attempt="(\d*)"', dom)
    attempts = [(int(n), cls) for cls, n in bars if cls.startswith("attempt")]
    assert attempts == [
        (1, "attempt failed retried"),
        (2, "attempt timed-out retried"),
        (3, "attempt completed"),
    ]
    assert any(cls.startswith("timer fired") for cls, _ in bars)


@needs_chromium
def test_faults_compensations_and_unrecorded_attempts_render_in_a_real_browser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = saga_run(tmp_path)
    try:
        live = tmp_path / "live.html"
        live.write_text(
            render_html(
                env.histories(),
                attempts=env.attempts,
                faults=env.fault_log,
                compensations=env.compensation_pairs,
            )
        )
        (history,) = env.histories()
        history.save(tmp_path / "saga.json")
    finally:
        env.close()
    from_file = tmp_path / "from-file.html"
    pairs = "--compensation=html_charge=html_refund"
    assert main(["show", "--html", str(from_file), str(tmp_path / "saga.json"), pairs]) == 0
    capsys.readouterr()

    dom = rendered_dom(live)
    faults = re.findall(r'<polygon class="mark fault ([^"]*)" data-fault="([^"]*)"', dom)
    assert faults == [("fail_attempt", "FailAttempt"), ("fail_attempt", "FailAttempt")]
    hit = re.findall(r'<rect class="bar ([^"]*injected)"[^>]*data-attempt="(\d+)"', dom)
    assert [(cls, int(n)) for cls, n in hit] == [
        ("attempt failed retried injected", 1),
        ("attempt failed retried injected", 2),
    ]
    assert re.findall(r'<rect class="bar (attempt completed compensation)"', dom) == [
        "attempt completed compensation"
    ]
    assert '<text class="lane-label compensation"' in dom
    assert "compensates html_charge</text>" in dom
    assert "unrecorded" not in dom.split("</style>")[1]

    dom = rendered_dom(from_file)
    earlier = re.findall(
        r'<rect class="bar (attempt earlier unrecorded)"[^>]*data-attempt=""'
        r' data-attempts="([^"]*)"',
        dom,
    )
    assert earlier == [("attempt earlier unrecorded", "1-2")]
    completed = re.findall(r'<rect class="bar attempt completed"[^>]*data-attempt="(\d+)"', dom)
    assert completed == ["3"]
    assert '<p class="note">Drawn from history alone' in dom
    assert "<polygon" not in dom
    assert "attempt completed compensation" in dom
