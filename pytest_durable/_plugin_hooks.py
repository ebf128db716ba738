"""The plugin's hooks that a run loads only when it needs them.

:mod:`pytest_durable.plugin` is loaded by every pytest run of a project that installs the
plugin, so it holds only the options, the fixtures and thin hooks. What they hand over to lands
here, loaded (and, for hook objects, registered) on first need: the failure report's timelines
and hints, crash exploration, the golden-file bookkeeping, recorded histories collected as
tests, the fault-coverage report and the pytest-xdist hooks.

Golden files. The bookkeeping (:class:`GoldenHooks` feeding a
:class:`~pytest_durable.fixtures._golden_session.GoldenSession`) starts when a collected test
module has a ``__goldens__`` folder beside it, or when a test first uses ``golden_history``: a
run without goldens has nothing to judge unused. Under pytest-xdist the controller keeps the
books from the start, since the workers' records reach it only when they finish.

Async tests. :class:`~pytest_durable.fixtures.DurableEnvironment` is driven synchronously, and
when it is called from inside a running event loop it drives its own loop on a helper thread and
waits for it, so an ``async def`` test can call it like a plain one. Such a test still needs
something to run the coroutine. If an async plugin claims the test (pytest-asyncio's
``@pytest.mark.asyncio`` or its auto mode, pytest-trio, anyio), that plugin runs it on its own
loop. If none does, the plugin's ``pytest_pyfunc_call`` runs it with :func:`asyncio.run`, but
only tests that request ``durable_env`` or ``activity_env``: claiming every ``async def`` test
would change how a suite behaves just because this plugin is installed. "Claimed" is decided
when the test is called: pytest-asyncio and pytest-trio have replaced the coroutine function
with a plain one by then, and tests that anyio runs (an ``anyio_backend`` fixture) or that carry
an ``asyncio``, ``anyio`` or ``trio`` marker are left to their plugin. (A ``trylast`` hook cannot
express "after the other plugins, before pytest's own 'async def functions are not natively
supported'": pytest's hook is ``trylast`` too, and pluggy calls it first.)
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._config import INTERRUPT_NOTE_PREFIX, DurableConfig
from .fixtures._golden_session import GoldenSession
from .plugin import CONFIG_KEY, SEED_WORKERINPUT

if TYPE_CHECKING:
    from .fixtures import DurableEnvironment
    from .fixtures._recorded import WorkflowModules

GOLDENS_KEY: pytest.StashKey[GoldenSession] = pytest.StashKey()
"""The session's golden files: used, written, unused (see :mod:`.fixtures._golden_session`)."""

_WORKFLOW_MODULES: pytest.StashKey[WorkflowModules] = pytest.StashKey()

_GOLDENS_WORKEROUTPUT = "durable_goldens"
_TIMELINE_SECTION = "durable timeline"
_COVERAGE_PROPERTY = "durable_fault_coverage"


def configure(
    config: pytest.Config, settings: DurableConfig, paths: list[Path], *, xdist_controller: bool
) -> None:
    """The part of ``pytest_configure`` that only some runs need."""
    if paths:
        _check_history_paths(config, paths)
    if settings.report is not None and not hasattr(config, "workerinput"):
        config.pluginmanager.register(CoverageReport(settings.report), "durable-coverage")
    if xdist_controller:
        config.pluginmanager.register(XdistHooks(settings), "durable-xdist")
        goldens_of(config)


def _check_history_paths(config: pytest.Config, paths: list[Path]) -> None:
    """``durable_history_paths`` must be folders, and the workflow code must be named."""
    where = f"ini key durable_history_paths in {config.inipath}"
    for path in paths:
        if not path.is_dir():
            raise pytest.UsageError(
                f"{where}: {path} is not a folder (paths are relative to the ini file's folder); "
                "create it, fix the path, or remove the entry"
            )
    if not config.getini("durable_workflow_modules"):
        raise pytest.UsageError(
            f"{where}: recorded histories need their workflow code: set "
            'durable_workflow_modules, e.g. durable_workflow_modules = ["shop.workflows"]'
        )


# --- the fixtures' teardown, async tests ---------------------------------------------------------


def unobserved_problems(env: DurableEnvironment, settings: DurableConfig) -> list[str]:
    """What a passing test that used ``durable_env`` is failed for.

    Failures nobody looked at, and, under ``strict_activities``, mocks no workflow called (which
    otherwise only warn, attributed to the fixture).
    """
    problems = env.failure_watch.unobserved()
    unused = [repr(mock.name) for mock in env.unused_mocks()]
    if unused:
        message = (
            f"mocked activities never called: {', '.join(unused)}. No workflow ran them: a mock "
            "the test does not need, or a workflow that took another path than the test meant."
        )
        if settings.strict_activities:
            problems.append(message + " (strict_activities is on)")
        else:
            from .errors import UnusedMockWarning

            warnings.warn(UnusedMockWarning(message), stacklevel=2)
    return problems


def run_async_test(item: pytest.Function) -> None:
    """Run an ``async def`` test no async plugin claimed with :func:`asyncio.run`."""
    import asyncio

    funcargs = item.funcargs
    arguments = {name: funcargs[name] for name in item._fixtureinfo.argnames}
    asyncio.run(item.obj(**arguments))


# --- failure reports, hints, exploration, Ctrl-C ----------------------------------------------


def add_workflow_reports(
    item: pytest.Item, report: pytest.TestReport, env: DurableEnvironment, settings: DurableConfig
) -> None:
    """Add a test's workflow timelines (and HTML file, coverage) to its report."""
    wanted = (report.failed and settings.timeline != "never") or (
        settings.timeline == "always" and report.when == "call"
    )
    if wanted:
        from .fixtures._report import render_timelines

        report.sections.append(
            (
                _TIMELINE_SECTION,
                render_timelines(
                    env.histories(),
                    config=settings,
                    faults=env.fault_log,
                    attempts=env.attempts,
                ),
            )
        )
    if settings.html_dir is not None and report.failed and report.when == "call":
        from .fixtures._html import write_test_timeline

        path = write_test_timeline(
            item.config.invocation_params.dir / settings.html_dir,
            item.nodeid,
            env.histories(),
            env.attempts,
            faults=env.fault_log,
            compensations=env.compensation_pairs,
        )
        report.sections.append(("durable html timeline", f"written to {path}\n"))
    if report.when == "teardown" and settings.report is not None:
        from .fixtures._coverage import coverage_of

        coverage = coverage_of(env.histories(), env.attempts, env.compensation_pairs)
        compensable = sorted(env.compensation_pairs)
        report.user_properties.append(
            (_COVERAGE_PROPERTY, {"coverage": coverage, "compensable": compensable})
        )


def add_hint(item: pytest.Item, error: BaseException, report: pytest.TestReport) -> None:
    """Explain a ``TimeoutError`` that the test module's name ``TimeoutError`` is not."""
    from .errors import DurableError

    module = getattr(item, "module", None)
    if module is None or not isinstance(error, TimeoutError | DurableError):
        return
    from .engine._hints import timeout_error_hint

    hint = timeout_error_hint(error, vars(module))
    if hint is not None:
        report.sections.append(("durable hint", hint))


def explore(env: DurableEnvironment) -> None:
    """``--durable-explore``: explore every workflow the test ran to its end at each crash point."""
    from .errors import CrashPointError, ExplorationCheckError

    for workflow, args, workflow_id in env.explorable:
        try:
            env.explore_crashes(workflow, *args, id=workflow_id)
        except (CrashPointError, ExplorationCheckError) as exc:
            # The message is the whole story; the plugin's frames would only hide it.
            pytest.fail(f"--durable-explore: {type(exc).__name__}: {exc}", pytrace=False)


def show_interrupt_notes(config: pytest.Config, error: BaseException) -> None:
    """Print where each workflow waited when Ctrl-C stopped a drive.

    pytest prints only the line a ``KeyboardInterrupt`` came from; the environment notes on
    the exception (``__notes__``) where each running workflow waits and its last events.
    """
    notes = [
        note
        for note in getattr(error, "__notes__", ())
        if isinstance(note, str) and note.startswith(INTERRUPT_NOTE_PREFIX)
    ]
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if not notes or reporter is None:
        return
    reporter.write_sep("-", _TIMELINE_SECTION)
    for note in notes:
        reporter.write_line(note)


# --- recorded histories as tests ---------------------------------------------------------------


class HistoryFile(pytest.File):
    """A recorded history: one test, which replays it."""

    @classmethod
    def collect_under(
        cls, roots: list[Path], parent: pytest.Collector, file_path: Path
    ) -> HistoryFile | None:
        """The file as a test when it is under one of ``roots``, else None."""
        if any(root == file_path.parent or root in file_path.parents for root in roots):
            return cls.from_parent(parent, path=file_path)
        return None

    def collect(self) -> Iterator[pytest.Item]:
        """The one replay of this file."""
        yield HistoryReplay.from_parent(self, name="replay")


class HistoryReplay(pytest.Item):
    """Replays a recorded history against the workflow code of ``durable_workflow_modules``."""

    def runtest(self) -> None:
        """Replay; a failure is a NondeterminismError or a RecordedHistoryError."""
        from .fixtures._recorded import replay_recorded

        source = self.nodeid.split("::")[0]
        replay_recorded(self.path, _workflow_modules(self.config), source=source)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        """Our errors say all there is to say (file, place, fix); others get a traceback."""
        from .engine._replay import ReplayDivergenceWarning
        from .errors import DurableError

        if isinstance(excinfo.value, DurableError | ReplayDivergenceWarning):
            return f"{type(excinfo.value).__name__}: {excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Where the test is: the history file."""
        return self.path, None, f"replay {self.nodeid.split('::')[0]}"


def _workflow_modules(config: pytest.Config) -> WorkflowModules:
    modules = config.stash.get(_WORKFLOW_MODULES, None)
    if modules is None:
        from .fixtures._recorded import WorkflowModules

        modules = WorkflowModules.load(
            config.getini("durable_workflow_modules"),
            where=f"ini key durable_workflow_modules in {config.inipath}",
        )
        config.stash[_WORKFLOW_MODULES] = modules
    return modules


# --- golden files: collection, outcomes, writes, unused ----------------------------------------


def goldens_of(config: pytest.Config) -> GoldenSession:
    """The session's :class:`GoldenSession`, made (and its hooks registered) on first need."""
    goldens = config.stash.get(GOLDENS_KEY, None)
    if goldens is None:
        settings = config.stash[CONFIG_KEY]
        goldens = GoldenSession(update=settings.update_goldens, root=config.rootpath)
        config.stash[GOLDENS_KEY] = goldens
        config.pluginmanager.register(GoldenHooks(goldens), "durable-goldens")
    return goldens


def record_collection(session: pytest.Session, deselected: list[Path]) -> None:
    """Record which tests run, and whether whole modules and folders were asked for."""
    config = session.config
    base = config.invocation_params.dir
    node_ids, folders = [], []
    for arg in config.args:
        path = base / arg.split("::", 1)[0]
        if "::" in arg:
            node_ids.append(path)
        elif path.is_dir():
            folders.append(path)
    goldens = goldens_of(config)
    goldens.record_deselected(deselected)
    goldens.record_collection(
        ((item.path, item.nodeid) for item in session.items if item.path.suffix == ".py"),
        node_id_arguments=node_ids,
        whole_folders=folders,
        selecting_options=any(
            config.getoption(name, None)
            for name in ("keyword", "markexpr", "deselect", "lf", "stepwise")
        ),
    )


class GoldenHooks:
    """Feeds the session's :class:`GoldenSession`: how tests ended, what to write, what is left."""

    def __init__(self, goldens: GoldenSession) -> None:
        self._goldens = goldens

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Whether each test passed: a failed or skipped test's goldens are kept."""
        self._goldens.record_outcome(report.nodeid, when=report.when, passed=report.passed)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write queued goldens where tests ran; judge unused goldens where reports arrive."""
        config = session.config
        if not config.pluginmanager.has_plugin("dsession"):  # not the xdist controller
            self._goldens.flush()
        workeroutput = getattr(config, "workeroutput", None)
        if isinstance(workeroutput, dict):
            workeroutput[_GOLDENS_WORKEROUTPUT] = self._goldens.export()
            return
        interrupted = bool(session.shouldstop or session.shouldfail) or exitstatus in (
            pytest.ExitCode.INTERRUPTED,
            pytest.ExitCode.INTERNAL_ERROR,
            pytest.ExitCode.USAGE_ERROR,
        )
        self._goldens.finish(interrupted=interrupted)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """List the goldens written, updated, deleted and unused."""
        lines = self._goldens.summary_lines()
        if lines:
            terminalreporter.write_sep("-", "durable golden histories")
            for line in lines:
                terminalreporter.write_line(line)


# --- optional integrations -------------------------------------------------------------------


class XdistHooks:
    """Registered on the pytest-xdist controller: every worker gets its seed, goldens merge."""

    def __init__(self, settings: DurableConfig) -> None:
        self._settings = settings

    def pytest_configure_node(self, node: Any) -> None:
        """Pass the seed to a worker before it starts (read back in ``pytest_configure``)."""
        node.workerinput[SEED_WORKERINPUT] = self._settings.seed

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Take in a finished worker's record of the goldens its tests used and wrote."""
        data = getattr(node, "workeroutput", {}).get(_GOLDENS_WORKEROUTPUT)
        if data is not None:
            goldens_of(node.config).merge(data)


class CoverageReport:
    """Registered only under ``--durable-report``: sums each test's fault coverage.

    Tests attach their coverage to their teardown report, so under pytest-xdist the
    controller, which receives every worker's reports, sums the whole session.
    """

    def __init__(self, destination: str) -> None:
        self.destination = destination
        self.total: dict[str, dict[str, int]] = {}
        self.compensable: set[str] = set()
        self.tests = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Add one test's coverage."""
        if report.when != "teardown":
            return
        for name, value in report.user_properties:
            if name == _COVERAGE_PROPERTY and isinstance(value, dict):
                from .fixtures._coverage import merge

                merge(self.total, value["coverage"])
                self.compensable.update(value["compensable"])
                self.tests += 1

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Print the coverage table, or write it as JSON."""
        from .fixtures._coverage import render, write_json

        terminalreporter.write_sep("=", "durable fault coverage")
        if self.destination.startswith("json:"):
            path = self.destination[len("json:") :]
            write_json(path, self.total, self.compensable, self.tests)
            terminalreporter.write_line(f"written to {path}")
        else:
            terminalreporter.write_line(render(self.total, self.compensable, self.tests))

