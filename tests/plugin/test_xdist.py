"""Under pytest-xdist: workers share the session's seed, and timelines reach the controller."""

from __future__ import annotations

import re

import pytest

from ._support import header_line


def test_workers_share_a_random_seed_and_report_timelines(pytester: pytest.Pytester) -> None:
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
        """
    )
    # pytest-benchmark warns (an error here) that xdist disables it.
    result = pytester.runpytest("-p", "no:benchmark", "-n", "2", "--durable-seed=random")
    result.assert_outcomes(passed=4, failed=1)
    seed = re.search(r"seed=(\d+) \(random", header_line(result))
    assert seed is not None
    written = sorted(pytester.path.glob("seed-*"))
    assert {p.name.rsplit("-", 1)[1] for p in written} == {"gw0", "gw1"}
    assert {p.read_text() for p in written} == {seed.group(1)}
    result.stdout.fnmatch_lines(
        ["*- durable timeline -*", f"seed={seed.group(1)} *", "workflow 'remote' (Failing)*"]
    )
