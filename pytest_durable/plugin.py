"""pytest wiring: options, ini keys, the ``durable`` marker, fixtures and report hooks.

Everything here only connects pytest to :mod:`pytest_durable.fixtures`, where the logic lives:
the settings are resolved once per session into a frozen
:class:`~pytest_durable.fixtures.DurableConfig`, kept in ``config.stash`` under
:data:`CONFIG_KEY`; a test's ``@pytest.mark.durable(...)`` overrides them for that test.

Nothing heavy is imported here: the engine (and asyncio) load inside the first fixture or hook
that needs them, since every pytest run of a project that installs the plugin imports this
module, most of them never running a workflow.

Async tests. :class:`~pytest_durable.fixtures.DurableEnvironment` is driven synchronously, and
when it is called from inside a running event loop it drives its own loop on a helper thread and
waits for it, so an ``async def`` test can call it like a plain one. Such a test still needs
something to run the coroutine. If an async plugin claims the test (pytest-asyncio's
``@pytest.mark.asyncio`` or its auto mode, pytest-trio, anyio), that plugin runs it on its own
loop. If none does, this plugin runs it with :func:`asyncio.run`, but only tests that request
``durable_env`` or ``activity_env``: claiming every ``async def`` test would change how a suite
behaves just because this plugin is installed. "Claimed" is decided when the test is called:
pytest-asyncio and pytest-trio have replaced the coroutine function with a plain one by then,
and tests that anyio runs (an ``anyio_backend`` fixture) or that carry an ``asyncio``, ``anyio``
or ``trio`` marker are left to their plugin. (A ``trylast`` hook cannot express "after the other
plugins, before pytest's own 'async def functions are not natively supported'": pytest's hook is
``trylast`` too, and pluggy calls it first.)
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .fixtures._config import (
    INTERRUPT_NOTE_PREFIX,
    MARKER_HELP,
    SETTINGS,
    DurableConfig,
    Setting,
)
from .fixtures._golden_session import GoldenSession

if TYPE_CHECKING:  # the engine loads when a fixture or hook first needs it, not on import
    from .fixtures import ActivityEnvironment, DurableEnvironment
    from .fixtures._config import EnvironmentFactory
    from .fixtures._goldens import GoldenHistory
    from .fixtures._recorded import WorkflowModules

CONFIG_KEY = pytest.StashKey[DurableConfig]()
"""The session's resolved settings, in ``config.stash``."""

_USED_ENVIRONMENT = pytest.StashKey["tuple[DurableEnvironment, DurableConfig]"]()
"""In ``item.stash``: the environment a test used and its settings, for the failure report."""

GOLDENS_KEY = pytest.StashKey[GoldenSession]()
"""The session's golden files: used, written, unused (see :mod:`.fixtures._golden_session`)."""

_HISTORY_PATHS = pytest.StashKey[list[Path]]()
_WORKFLOW_MODULES = pytest.StashKey["WorkflowModules"]()
_CALL_PASSED = pytest.StashKey[bool]()
"""In ``item.stash``: whether the test's call passed (read by ``durable_env``'s teardown)."""

_ENV_FIXTURES = ("durable_env", "activity_env")
_GOLDENS_WORKEROUTPUT = "durable_goldens"
_ASYNC_MARKERS = ("asyncio", "anyio", "trio")
_SEED_WORKERINPUT = "durable_seed"
_TIMELINE_SECTION = "durable timeline"
_COVERAGE_PROPERTY = "durable_fault_coverage"


# --- options, ini keys, marker, settings ------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--durable-…`` options and their ``durable_…`` ini twins."""
    group = parser.getgroup("durable", "durable workflows (pytest-durable)")
    for setting in SETTINGS:
        if setting.const is not None:
            group.addoption(
                setting.option,
                nargs="?",
                const=setting.const,
                default=None,
                dest=setting.dest,
                metavar=setting.metavar,
                help=setting.help,
            )
        elif setting.is_flag:
            group.addoption(
                setting.option,
                action="store_true",
                default=None,
                dest=setting.dest,
                help=setting.help,
            )
        else:
            group.addoption(
                setting.option,
                default=None,
                dest=setting.dest,
                metavar=setting.metavar,
                help=setting.help,
            )
        # Strings (flags: booleans), parsed by DurableConfig, so that option and ini errors
        # read the same way.
        parser.addini(
            setting.ini,
            help=f"default for {setting.option}: {setting.help}",
            type=setting.ini_type,
            default=False if setting.ini_type == "bool" else "",
        )
    parser.addini(
        "durable_history_paths",
        help="folders of recorded workflow histories (JSON), each file collected as a test "
        "that replays it against today's code (needs durable_workflow_modules)",
        type="paths",
        default=[],
    )
    parser.addini(
        "durable_workflow_modules",
        help="where recorded histories' workflow code is: 'package.module' (its workflow "
        "classes) or 'package.module:Class', space-separated",
        type="args",
        default=[],
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker and resolve the session's settings."""
    config.addinivalue_line("markers", MARKER_HELP)
    # Under pytest-xdist, a worker takes the controller's seed so that 'random' is one seed.
    workerinput = getattr(config, "workerinput", None)
    inherited = workerinput.get(_SEED_WORKERINPUT) if isinstance(workerinput, dict) else None
    try:
        settings = DurableConfig.resolve(
            {s.name: config.getoption(s.dest) for s in SETTINGS},
            {s.name: _read_ini(config, s) for s in SETTINGS},
            inherited_seed=inherited if isinstance(inherited, int) else None,
        )
    except _invalid_argument() as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[CONFIG_KEY] = settings
    if settings.determinism_guard:
        # Before test modules are imported: `from uuid import uuid4` binds the guarded one.
        from ._guard import install_functions

        install_functions()
    config.pluginmanager.register(InterruptReport(config), "durable-interrupt")
    if settings.report is not None and not hasattr(config, "workerinput"):
        config.pluginmanager.register(CoverageReport(settings.report), "durable-coverage")
    config.stash[_HISTORY_PATHS] = _history_paths(config)
    goldens = GoldenSession(update=settings.update_goldens, root=config.rootpath)
    config.stash[GOLDENS_KEY] = goldens
    config.pluginmanager.register(GoldenHooks(goldens), "durable-goldens")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHooks(settings), "durable-xdist")


def _invalid_argument() -> type[Exception]:
    """:class:`~pytest_durable.errors.InvalidArgumentError`, for an ``except`` clause.

    The clause calls this only while an exception is being matched: a run whose settings are
    all valid never loads the errors module.
    """
    from .errors import InvalidArgumentError

    return InvalidArgumentError


def _history_paths(config: pytest.Config) -> list[Path]:
    """``durable_history_paths``, each checked to exist."""
    paths: list[Path] = config.getini("durable_history_paths")
    where = f"ini key durable_history_paths in {config.inipath}"
    for path in paths:
        if not path.is_dir():
            raise pytest.UsageError(
                f"{where}: {path} is not a folder (paths are relative to the ini file's folder); "
                "create it, fix the path, or remove the entry"
            )
    if paths and not config.getini("durable_workflow_modules"):
        raise pytest.UsageError(
            f"{where}: recorded histories need their workflow code: set "
            'durable_workflow_modules, e.g. durable_workflow_modules = ["shop.workflows"]'
        )
    return paths


def _read_ini(config: pytest.Config, setting: Setting) -> object:
    try:
        return config.getini(setting.ini)
    except (TypeError, ValueError) as exc:
        # pytest's own check: a bad boolean, or a value of the wrong TOML type.
        raise pytest.UsageError(f"ini key {setting.ini}: {exc}; {setting.ini_hint}") from None


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Print the effective settings and the seed."""
    settings = config.stash.get(CONFIG_KEY, None)
    return [settings.describe()] if settings is not None else []


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Check the test's ``durable`` markers: a bad argument fails this test, not the run.

    Checked when the test is set up rather than at collection, so that a test deselected with
    ``-k`` (or never run) cannot stop the others, and the error is reported on the test that
    carries the marker, whether or not it uses the fixtures.
    """
    if item.get_closest_marker("durable") is None:
        return
    try:
        _settings_for(item)
    except _invalid_argument() as exc:
        pytest.fail(str(exc), pytrace=False)


def _settings_for(item: pytest.Item) -> DurableConfig:
    """The session's settings overridden by the item's markers, the closest last (it wins).

    Raises:
        InvalidArgumentError: a marker argument is bad.
    """
    settings = item.config.stash[CONFIG_KEY]
    for mark in reversed(list(item.iter_markers("durable"))):
        settings = settings.with_marker(mark.args, mark.kwargs, where=item.nodeid)
    return settings


def _fixture_settings(request: pytest.FixtureRequest) -> DurableConfig:
    try:
        return _settings_for(request.node)
    except _invalid_argument() as exc:
        # A marker added during setup (request.applymarker), after pytest_runtest_setup.
        pytest.fail(str(exc), pytrace=False)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def durable_env(request: pytest.FixtureRequest) -> Iterator[DurableEnvironment]:
    """A fresh :class:`~pytest_durable.DurableEnvironment` for each test, closed after it.

    Configured by the ``--durable-…`` options and ``@pytest.mark.durable(...)``. Each
    environment has its own virtual clock, so tests are independent (and safe under
    pytest-xdist). When the test fails, its workflows' histories are added to the report.
    """
    settings = _fixture_settings(request)
    env = settings.create_environment()
    request.node.stash[_USED_ENVIRONMENT] = (env, settings)
    try:
        yield env
        problems = env.failure_watch.unobserved()
        unused = [repr(mock.name) for mock in env.unused_mocks()]
    finally:
        env.close()
    if unused:
        message = (
            f"mocked activities never called: {', '.join(unused)}. No workflow ran them: a mock "
            "the test does not need, or a workflow that took another path than the test meant."
        )
        if settings.strict_activities:
            problems.append(message + " (strict_activities is on)")
        else:
            from .errors import UnusedMockWarning

            warnings.warn(UnusedMockWarning(message), stacklevel=1)
    # Only a test that passed is failed for these: a failing one already shows its timeline.
    if problems and request.node.stash.get(_CALL_PASSED, False):
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def durable_env_factory(request: pytest.FixtureRequest) -> Iterator[EnvironmentFactory]:
    """Makes a fresh :class:`~pytest_durable.DurableEnvironment` per call, for ``@given`` tests.

    Session-scoped, so a Hypothesis ``@given`` test can use it without tripping the
    function-scoped-fixture health check: call it once per example (``with
    durable_env_factory() as env:``) or hand it to ``check_workflow(..., env=...)``.
    Environments use the session's ``--durable-…`` settings (a test's marker does not apply);
    any left open are closed at the end of the session.
    """
    from .fixtures._config import EnvironmentFactory

    factory = EnvironmentFactory(request.config.stash[CONFIG_KEY])
    try:
        yield factory
    finally:
        factory.close_all()


@pytest.fixture
def activity_env(request: pytest.FixtureRequest) -> ActivityEnvironment:
    """A fresh :class:`~pytest_durable.fixtures.ActivityEnvironment` for each test.

    It runs one activity function with no workflow around it, on virtual time. The options and
    ``@pytest.mark.durable(...)`` set its ``start_time`` and ``patch_time``.
    """
    return _fixture_settings(request).create_activity_environment()


@pytest.fixture
def durable_redis(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A Redis client: an in-memory fakeredis per test, or ``--durable-redis-url``'s server.

    With a real server, nothing is flushed: use a database of its own (``redis://host/15``),
    or the ``durable_ledger`` fixture, which cleans up only what it wrote.
    """
    from .fixtures._redis import redis_client

    try:
        context = redis_client(_fixture_settings(request).redis_url)
        client = context.__enter__()
    except _invalid_argument() as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield client
    finally:
        context.__exit__(None, None, None)


@pytest.fixture
def durable_ledger(durable_redis: Any) -> Iterator[Any]:
    """An :class:`~pytest_durable.testing.EffectLedger` on ``durable_redis``, cleared after."""
    from .fixtures._ledger import EffectLedger

    ledger = EffectLedger(durable_redis)
    try:
        yield ledger
    finally:
        ledger.clear()


@pytest.fixture
def golden_history(request: pytest.FixtureRequest) -> GoldenHistory:
    """This test's golden history: ``golden_history.check(run)`` compares, replays, records.

    The golden file is ``__goldens__/<test module>/<test name>.json`` beside the test. A missing
    or different golden fails the test; ``--durable-update-goldens`` writes it instead.
    """
    goldens = request.config.stash[GOLDENS_KEY]
    return goldens.golden_for(request.node.path, request.node.nodeid)


# --- crash exploration ---------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Under ``--durable-explore``, explore each workflow a passing test ran to its end."""
    result = yield  # a failing test raises here: nothing more to say about it
    used = item.stash.get(_USED_ENVIRONMENT, None)
    if used is not None and used[1].explore:
        from .errors import CrashPointError, ExplorationCheckError

        env = used[0]
        for workflow, args, workflow_id in env.explorable:
            try:
                env.explore_crashes(workflow, *args, id=workflow_id)
            except (CrashPointError, ExplorationCheckError) as exc:
                # The message is the whole story; the plugin's frames would only hide it.
                pytest.fail(f"--durable-explore: {type(exc).__name__}: {exc}", pytrace=False)
    return result


# --- reports -----------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add the histories of a test's workflows to its report when it fails (or always)."""
    report = yield
    if report.when == "call":
        item.stash[_CALL_PASSED] = report.passed
        if report.failed and call.excinfo is not None:
            _add_hint(item, call.excinfo.value, report)
    used = item.stash.get(_USED_ENVIRONMENT, None)
    if used is None:
        return report
    env, settings = used
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
    if report.when == "teardown":
        if item.config.stash[CONFIG_KEY].report is not None:
            from .fixtures._coverage import coverage_of

            coverage = coverage_of(env.histories(), env.attempts, env.compensation_pairs)
            compensable = sorted(env.compensation_pairs)
            report.user_properties.append(
                (_COVERAGE_PROPERTY, {"coverage": coverage, "compensable": compensable})
            )
        # Items live as long as the session: let the environment and its histories go.
        del item.stash[_USED_ENVIRONMENT]
    return report



def _add_hint(item: pytest.Item, error: BaseException, report: pytest.TestReport) -> None:
    """Explain a ``TimeoutError`` that the test module's name ``TimeoutError`` is not."""
    from .errors import DurableError

    module = getattr(item, "module", None)
    if module is None or not isinstance(error, TimeoutError | DurableError):
        return
    from .engine._hints import timeout_error_hint  # only once a test has failed

    hint = timeout_error_hint(error, vars(module))
    if hint is not None:
        report.sections.append(("durable hint", hint))


# --- async tests -------------------------------------------------------------------------------


def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an ``async def`` test that uses our fixtures when no async plugin claimed it."""
    function = pyfuncitem.obj
    # A plugin that claims a test (pytest-asyncio, pytest-trio) has replaced its coroutine
    # function with a plain one by now; anyio runs it in this very hook, so leave it anyio's.
    if (
        not inspect.iscoroutinefunction(function)
        or not any(name in pyfuncitem.fixturenames for name in _ENV_FIXTURES)
        or "anyio_backend" in pyfuncitem.fixturenames
        or any(pyfuncitem.get_closest_marker(name) for name in _ASYNC_MARKERS)
    ):
        return None
    funcargs = pyfuncitem.funcargs
    arguments = {name: funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    import asyncio

    asyncio.run(function(**arguments))
    return True


# --- Ctrl-C ------------------------------------------------------------------------------------


class InterruptReport:
    """Shows what the workflows were doing when Ctrl-C stopped a drive.

    pytest prints only the line a ``KeyboardInterrupt`` came from; the environment notes on
    the exception (``__notes__``) where each running workflow waits and its last events.
    """

    def __init__(self, config: pytest.Config) -> None:
        self._config = config

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Print the environment's notes about the interrupted workflows."""
        notes = [
            note
            for note in getattr(excinfo.value, "__notes__", ())
            if isinstance(note, str) and note.startswith(INTERRUPT_NOTE_PREFIX)
        ]
        reporter = self._config.pluginmanager.get_plugin("terminalreporter")
        if not notes or reporter is None:
            return
        reporter.write_sep("-", _TIMELINE_SECTION)
        for note in notes:
            reporter.write_line(note)
# --- recorded histories as tests ---------------------------------------------------------------


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A history file under ``durable_history_paths`` is a test that replays it."""
    if file_path.suffix != ".json" or file_path.name.endswith(".received.json"):
        return None
    roots = parent.config.stash.get(_HISTORY_PATHS, [])
    if not any(root == file_path.parent or root in file_path.parents for root in roots):
        return None
    return HistoryFile.from_parent(parent, path=file_path)


class HistoryFile(pytest.File):
    """A recorded history: one test, which replays it."""

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


class GoldenHooks:
    """Feeds the session's :class:`GoldenSession`: what ran, how it ended, what to write."""

    def __init__(self, goldens: GoldenSession) -> None:
        self._goldens = goldens

    def pytest_collection_finish(self, session: pytest.Session) -> None:
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
        self._goldens.record_collection(
            ((item.path, item.nodeid) for item in session.items if item.path.suffix == ".py"),
            node_id_arguments=node_ids,
            whole_folders=folders,
            selecting_options=any(
                config.getoption(name, None)
                for name in ("keyword", "markexpr", "deselect", "lf", "stepwise")
            ),
        )

    def pytest_deselected(self, items: Sequence[pytest.Item]) -> None:
        """Deselected tests make their modules partial: their goldens are never judged."""
        self._goldens.record_deselected(item.path for item in items)

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
    """Registered only under pytest-xdist: every worker gets the controller's seed."""

    def __init__(self, settings: DurableConfig) -> None:
        self._settings = settings

    def pytest_configure_node(self, node: Any) -> None:
        """Pass the seed to a worker before it starts (read back in ``pytest_configure``)."""
        node.workerinput[_SEED_WORKERINPUT] = self._settings.seed

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Take in a finished worker's record of the goldens its tests used and wrote."""
        data = getattr(node, "workeroutput", {}).get(_GOLDENS_WORKEROUTPUT)
        if data is not None:
            node.config.stash[GOLDENS_KEY].merge(data)


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
