"""Under pytest-xdist: workers share the session's seed, timelines reach the controller, and a
bad marker fails its own test (a worker cannot stop the session cleanly)."""

from __future__ import annotations

import re

import pytest

from ._support import header_line


def test_seed_timelines_and_bad_markers_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import pathlib
        import pytest
        from workflows import Failing

        @pytest.mark.parametrize("n", range(4))
        def test_seed(durable_env, n, worker_id):
            out = pathlib.Path({str(pytester.path)!r}) / f"seed-{{n}}-{{worker_id}}"
            out.write_text(str(durable_env.seed))

        def test_fails(durable_env):
            durable_env.run(Failing.run, id="remote").result()

        @pytest.mark.durable(sed=1)
        def test_bad_marker(durable_env):
            pass
        """
    )
    result = pytester.runpytest("-n", "2", "--durable-seed=random")
    result.assert_outcomes(passed=4, failed=1, errors=1)
    seed = re.search(r"seed=(\d+) \(random", header_line(result))
    assert seed is not None
    written = sorted(pytester.path.glob("seed-*"))
    assert {p.name.rsplit("-", 1)[1] for p in written} == {"gw0", "gw1"}
    assert {p.read_text() for p in written} == {seed.group(1)}
    result.stdout.fnmatch_lines(
        ["*- durable timeline -*", f"seed={seed.group(1)} *", "workflow 'remote' (Failing)*"]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_bad_marker _*",
            "test_*.py::test_bad_marker: @pytest.mark.durable got an unknown argument 'sed'*",
        ]
    )
