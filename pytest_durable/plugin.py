"""pytest wiring: options, ini keys, the ``durable`` marker, fixtures and report hooks.

Everything here only connects pytest to :mod:`pytest_durable.fixtures`, where the logic lives:
the settings are resolved once per session into a frozen
:class:`~pytest_durable.fixtures.DurableConfig`, kept in ``config.stash`` under
:data:`CONFIG_KEY`; a test's ``@pytest.mark.durable(...)`` overrides them for that test.

Nothing heavy is imported here, and little is defined: every pytest run of a project that
installs the plugin loads this module, most of them never running a workflow. The engine (and
asyncio) load inside the first fixture or hook that needs them; the report, golden-file,
recorded-history, coverage and pytest-xdist hooks are in :mod:`._plugin_hooks`, loaded (and,
for hook objects, registered) when a run first needs them. Async tests are described there too.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Generator, Iterator, Sequence
from os.path import isdir, join
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._config import MARKER_HELP, SETTINGS, DurableConfig

if TYPE_CHECKING:  # the engine loads when a fixture or hook first needs it, not on import
    from .fixtures import ActivityEnvironment, DurableEnvironment
    from .fixtures._environment import EnvironmentFactory
    from .fixtures._goldens import GoldenHistory

CONFIG_KEY: pytest.StashKey[DurableConfig] = pytest.StashKey()
"""The session's resolved settings, in ``config.stash``."""

USED_ENVIRONMENT: pytest.StashKey[tuple[DurableEnvironment, DurableConfig]] = pytest.StashKey()
"""In ``item.stash``: the environment a test used and its settings, for the failure report."""

CALL_PASSED: pytest.StashKey[bool] = pytest.StashKey()
"""In ``item.stash``: whether the test's call passed (read by ``durable_env``'s teardown)."""

HISTORY_PATHS: pytest.StashKey[list[Path]] = pytest.StashKey()
"""The folders of ``durable_history_paths``, whose history files are collected as tests."""

_DESELECTED: pytest.StashKey[list[Path]] = pytest.StashKey()

MODULES_AT_START: frozenset[str] = frozenset(sys.modules)
"""The modules loaded when pytest loaded the plugin, before test modules and conftests.

The determinism guard wraps the guarded functions with the first guarded engine, and points the
names that the modules imported since bound to them (``from uuid import uuid4``) at the wrappers.
"""

_ASYNC_MARKERS = ("asyncio", "anyio", "trio")
SEED_WORKERINPUT = "durable_seed"
"""Under pytest-xdist, where the controller puts its seed in each worker's ``workerinput``."""


# --- options, ini keys, marker, settings ------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--durable-…`` options and their ``durable_…`` ini twins."""
    group = parser.getgroup("durable", "durable workflows (pytest-durable)")
    for setting in SETTINGS:
        # Ini values are strings (a flag's: a boolean), parsed by DurableConfig like the
        # option's, so that option and ini errors read the same way.
        help = f"default for {setting.option}: {setting.help}"
        if setting.metavar is None:
            group.addoption(
                setting.option,
                action="store_true",
                default=None,
                dest=setting.dest,
                help=setting.help,
            )
            parser.addini(setting.ini, help=help, type="bool", default=False)
        else:
            group.addoption(
                setting.option,
                nargs=None if setting.const is None else "?",
                const=setting.const,
                default=None,
                dest=setting.dest,
                metavar=setting.metavar,
                help=setting.help,
            )
            parser.addini(setting.ini, help=help, type="string", default="")
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
    inherited = workerinput.get(SEED_WORKERINPUT) if isinstance(workerinput, dict) else None
    options: dict[str, object] = {}
    ini: dict[str, object] = {}
    for setting in SETTINGS:
        options[setting.name] = config.getoption(setting.dest)
        try:
            ini[setting.name] = config.getini(setting.ini)
        except (TypeError, ValueError) as exc:
            # pytest's own check: a bad boolean, or a value of the wrong TOML type.
            from ._config_values import ini_hint

            raise pytest.UsageError(
                f"ini key {setting.ini}: {exc}; {ini_hint(setting)}"
            ) from None
    try:
        settings = DurableConfig.resolve(
            options, ini, inherited_seed=inherited if isinstance(inherited, int) else None
        )
    except _invalid_argument() as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[CONFIG_KEY] = settings
    config.pluginmanager.register(_InterruptNotes(config), "durable-interrupt")
    paths: list[Path] = config.getini("durable_history_paths")
    config.stash[HISTORY_PATHS] = paths
    config.stash[_DESELECTED] = []
    # Under pytest-xdist, the controller hands tests to workers (``-n``, ``--dist``).
    controller = (
        not hasattr(config, "workerinput")
        and config.pluginmanager.hasplugin("xdist")
        and config.getoption("dist", "no") != "no"
    )
    if paths or settings.report is not None or controller:
        from ._plugin_hooks import configure

        configure(config, settings, paths, xdist_controller=controller)


def _invalid_argument() -> type[Exception]:
    """:class:`~pytest_durable.errors.InvalidArgumentError`, for an ``except`` clause.

    The clause calls this only while an exception is being matched: a run whose settings are
    all valid never loads the errors module.
    """
    from .errors import InvalidArgumentError

    return InvalidArgumentError


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
    if item.get_closest_marker("durable") is not None:
        _fixture_settings(item)


def _fixture_settings(item: pytest.Item) -> DurableConfig:
    """The session's settings overridden by the item's markers, the closest last (it wins).

    A bad marker argument fails the test (a marker may also be added during setup, with
    ``request.applymarker``, after :func:`pytest_runtest_setup` checked the others).
    """
    settings = item.config.stash[CONFIG_KEY]
    try:
        for mark in reversed(list(item.iter_markers("durable"))):
            settings = settings.with_marker(mark.args, mark.kwargs, where=item.nodeid)
    except _invalid_argument() as exc:
        pytest.fail(str(exc), pytrace=False)
    return settings


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def durable_env(request: pytest.FixtureRequest) -> Iterator[DurableEnvironment]:
    """A fresh :class:`~pytest_durable.DurableEnvironment` for each test, closed after it.

    Configured by the ``--durable-…`` options and ``@pytest.mark.durable(...)``. Each
    environment has its own virtual clock, so tests are independent (and safe under
    pytest-xdist). When the test fails, its workflows' histories are added to the report.
    """
    settings = _fixture_settings(request.node)
    env = settings.create_environment()
    request.node.stash[USED_ENVIRONMENT] = (env, settings)
    try:
        yield env
        from ._plugin_hooks import unobserved_problems

        problems = unobserved_problems(env, settings)
    finally:
        env.close()
    # Only a test that passed is failed for these: a failing one already shows its timeline.
    if problems and request.node.stash.get(CALL_PASSED, False):
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
    from .fixtures._environment import EnvironmentFactory

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
    return _fixture_settings(request.node).create_activity_environment()


@pytest.fixture
def durable_redis(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A Redis client: an in-memory fakeredis per test, or ``--durable-redis-url``'s server.

    With a real server, nothing is flushed: use a database of its own (``redis://host/15``),
    or the ``durable_ledger`` fixture, which cleans up only what it wrote.
    """
    from .fixtures._redis import redis_client

    try:
        context = redis_client(_fixture_settings(request.node).redis_url)
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
    from ._plugin_hooks import goldens_of

    return goldens_of(request.config).golden_for(request.node.path, request.node.nodeid)


# --- crash exploration and reports ---------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Under ``--durable-explore``, explore each workflow a passing test ran to its end."""
    result = yield  # a failing test raises here: nothing more to say about it
    used = item.stash.get(USED_ENVIRONMENT, None)
    if used is not None and used[1].explore:
        from ._plugin_hooks import explore

        explore(used[0])
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add the histories of a test's workflows to its report when it fails (or always)."""
    report = yield
    if report.when == "call":
        item.stash[CALL_PASSED] = report.passed
        if report.failed and call.excinfo is not None:
            from ._plugin_hooks import add_hint

            add_hint(item, call.excinfo.value, report)
    used = item.stash.get(USED_ENVIRONMENT, None)
    if used is not None:
        from ._plugin_hooks import add_workflow_reports

        add_workflow_reports(item, report, *used)
        if report.when == "teardown":
            # Items live as long as the session: let the environment and its histories go.
            del item.stash[USED_ENVIRONMENT]
    return report


# --- async tests -------------------------------------------------------------------------------


def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an ``async def`` test that uses our fixtures when no async plugin claimed it.

    A plugin that claims a test (pytest-asyncio, pytest-trio) has replaced its coroutine
    function with a plain one by now; anyio runs it in this very hook, so it is left to anyio.
    Why only tests using our fixtures, and why this hook: see :mod:`._plugin_hooks`.
    """
    function = pyfuncitem.obj
    names = pyfuncitem.fixturenames
    if (
        not inspect.iscoroutinefunction(function)
        or ("durable_env" not in names and "activity_env" not in names)
        or "anyio_backend" in names
    ):
        return None
    for marker in _ASYNC_MARKERS:
        if pyfuncitem.get_closest_marker(marker):
            return None
    from ._plugin_hooks import run_async_test

    run_async_test(pyfuncitem)
    return True


# --- Ctrl-C, recorded histories, golden files ---------------------------------------------------


class _InterruptNotes:
    """Shows what the workflows were doing when Ctrl-C stopped a drive (see ``_plugin_hooks``)."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Print the environment's notes about the interrupted workflows."""
        if getattr(excinfo.value, "__notes__", None):
            from ._plugin_hooks import show_interrupt_notes

            show_interrupt_notes(self._config, excinfo.value)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A history file under ``durable_history_paths`` is a test that replays it."""
    roots = parent.config.stash.get(HISTORY_PATHS, None)
    if not roots or file_path.suffix != ".json" or file_path.name.endswith(".received.json"):
        return None
    from ._plugin_hooks import HistoryFile

    return HistoryFile.collect_under(roots, parent, file_path)


def pytest_deselected(items: Sequence[pytest.Item]) -> None:
    """Note deselected tests: their modules' goldens are never judged unused."""
    if items:
        deselected = items[0].config.stash[_DESELECTED]
        for item in items:
            deselected.append(item.path)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the golden bookkeeping when a collected test module has goldens beside it.

    Without any ``__goldens__`` folder there is nothing to judge unused, and a test that uses
    ``golden_history`` starts the bookkeeping itself.
    """
    seen = set()
    for item in session.items:
        path = item.path
        if path not in seen:
            seen.add(path)
            if isdir(join(path.parent, "__goldens__")):
                from ._plugin_hooks import record_collection

                record_collection(session, session.config.stash[_DESELECTED])
                return
