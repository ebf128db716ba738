"""The command line: show, diff and replay history files.

python -m pytest_durable show history.json
python -m pytest_durable diff expected.json actual.json
python -m pytest_durable replay history.json --workflow myapp.workflows:Checkout
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from .engine._diff import RUN_IDENTITY_KEYS, diff_histories
from .engine._history import History
from .engine._replay import ReplayDivergenceWarning
from .engine._replayer import Replayer
from .errors import DurableError, HistoryFormatError, NondeterminismError

EXIT_OK = 0
EXIT_DIFFERENT = 1
EXIT_USAGE = 2


def _load_workflow(spec: str) -> object:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise SystemExit(
            f"error: --workflow {spec!r} must look like 'package.module:WorkflowClass'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(
            f"error: cannot import {module_name!r} for --workflow {spec!r}: {exc}. "
            "Run from your project's root or pass --path."
        ) from exc
    obj: object = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SystemExit(f"error: {module_name!r} has no attribute {attr!r}") from None
    return obj


def _cmd_show(args: argparse.Namespace) -> int:
    pairs = _compensation_pairs(args.compensation or [])
    if pairs and not args.html:
        raise SystemExit(
            "error: --compensation marks compensations in the HTML timeline: add --html OUT"
        )
    history = History.load(args.file)
    if args.html:
        from .fixtures._html import render_html

        out = Path(args.html)
        out.parent.mkdir(parents=True, exist_ok=True)
        page = render_html([history], compensations=pairs, title=args.file)
        out.write_text(page, encoding="utf-8")
        print(f"wrote {out}")
        return EXIT_OK
    if args.json:
        sys.stdout.write(history.to_json())
    else:
        print(
            f"{history.workflow_type} id={history.workflow_id} run={history.run_id} "
            f"events={len(history)}"
        )
        print(history.timeline())
    return EXIT_OK


def _compensation_pairs(specs: Sequence[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for spec in specs:
        step, sep, undo = spec.partition("=")
        if not sep or not step.strip() or not undo.strip():
            raise SystemExit(
                f"error: --compensation {spec!r} must look like 'STEP=UNDO', the activity "
                "types of a step and of its compensation, e.g. --compensation charge=refund"
            )
        pairs[step.strip()] = undo.strip()
    return pairs


def _cmd_diff(args: argparse.Namespace) -> int:
    expected = History.load(args.expected)
    actual = History.load(args.actual)
    ignore = RUN_IDENTITY_KEYS if args.ignore_run_ids else frozenset()
    lines = diff_histories(expected, actual, ignore=ignore)
    if not lines:
        print("histories are the same")
        return EXIT_OK
    print(f"--- {args.expected}\n+++ {args.actual}")
    print("\n".join(lines))
    return EXIT_DIFFERENT


def _cmd_replay(args: argparse.Namespace) -> int:
    for path in reversed(args.path or [os.getcwd()]):
        if path not in sys.path:
            sys.path.insert(0, path)
    workflows = [_load_workflow(spec) for spec in args.workflow]
    replayer = Replayer(workflows=workflows, strict=args.strict)
    status = EXIT_OK
    for file in args.files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReplayDivergenceWarning)
            try:
                result = replayer.replay(file)
            except NondeterminismError as exc:
                print(f"FAIL {file}\n{exc}")
                status = EXIT_DIFFERENT
                continue
        print(f"ok   {file} ({len(result.history)} events)")
        for divergence in result.divergences:
            print(f"     warning: event {divergence.event_id}: {divergence.message}")
    return status


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="pytest-durable", description="Inspect, compare and replay workflow histories."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    show = sub.add_parser("show", help="print a history as a readable timeline")
    show.add_argument("file", help="a history JSON file")
    show.add_argument("--json", action="store_true", help="print the canonical JSON instead")
    show.add_argument(
        "--html", metavar="OUT", help="write a self-contained HTML timeline to OUT instead"
    )
    show.add_argument(
        "--compensation",
        action="append",
        metavar="STEP=UNDO",
        help="with --html: mark the activity type UNDO as the compensation of STEP, as "
        "assert_compensations names them (repeatable)",
    )
    show.set_defaults(func=_cmd_show)

    diff = sub.add_parser("diff", help="compare two histories event by event")
    diff.add_argument("expected")
    diff.add_argument("actual")
    diff.add_argument(
        "--ignore-run-ids",
        action="store_true",
        help="ignore run ids and randomness seeds (compare behaviour only)",
    )
    diff.set_defaults(func=_cmd_diff)

    replay = sub.add_parser("replay", help="replay histories against today's workflow code")
    replay.add_argument("files", nargs="+", help="history JSON files")
    replay.add_argument(
        "--workflow",
        action="append",
        required=True,
        metavar="MODULE:CLASS",
        help="a workflow class to replay with (repeatable)",
    )
    replay.add_argument(
        "--path", action="append", help="add to sys.path before importing (default: cwd)"
    )
    replay.add_argument(
        "--strict",
        action="store_true",
        help="treat changed activity arguments and timer durations as errors",
    )
    replay.set_defaults(func=_cmd_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 different, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except (HistoryFormatError, DurableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return status


if __name__ == "__main__":
    raise SystemExit(main())
