"""The HTML timeline: ``--durable-html=DIR``, ``show --html``, and a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pytest_durable import Delay, DurableEnvironment
from pytest_durable.__main__ import main
from pytest_durable.fixtures._html import render_html, timeline_model

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


@pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="no Chromium here (apt-get install -y chromium); CI installs it and runs this test",
)
def test_the_timeline_renders_in_a_real_browser(tmp_path: Path) -> None:
    assert CHROMIUM is not None, "CI=true: Chromium must be installed (apt-get install -y chromium)"
    env = greeter_run_with_retries(tmp_path)
    try:
        page = tmp_path / "timeline.html"
        page.write_text(render_html(env.histories(), attempts=env.attempts, title="greet"))
    finally:
        env.close()

    def browse(*args: str) -> subprocess.CompletedProcess[str]:
        profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
        return subprocess.run(
            [CHROMIUM, *BROWSER_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    shot = tmp_path / "shot.png"
    screenshot = browse(f"--screenshot={shot}", "--window-size=1200,600")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", screenshot.stderr[-2000:]
    assert shot.stat().st_size > 2_000
    dumped = browse("--dump-dom")
    dom = dumped.stdout

    assert 'data-status="rendered"' in dom, dumped.stderr[-2000:]
    bars = re.findall(r'<rect class="bar ([^"]*)"[^>]*data-attempt="(\d*)"', dom)
    attempts = [(int(n), cls) for cls, n in bars if cls.startswith("attempt")]
    assert attempts == [
        (1, "attempt failed retried"),
        (2, "attempt timed-out retried"),
        (3, "attempt completed"),
    ]
    assert any(cls.startswith("timer fired") for cls, _ in bars)
    console = [
        line for line in dumped.stderr.splitlines() + screenshot.stderr.splitlines()
        if "CONSOLE" in line or "Uncaught" in line
    ]
    assert console == []
