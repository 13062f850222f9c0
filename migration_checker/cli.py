"""`python -m migration_checker PATH`: report, and optionally rewrite."""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from migration_checker.findings import Level
from migration_checker.fix import DEFAULT_BROKER_IMPORT, fix_project, unified_diff
from migration_checker.project import ScanResult, scan_project
from migration_checker.report import render_human, render_json, render_sarif
from migration_checker.rules import RULES

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# The lowest level that fails the run; "hazard" is the CI default: any hazard or unparsed file.
FAIL_ON = {
    "never": None,
    "error": Level.ERROR,
    "warning": Level.WARNING,
    "hazard": Level.WARNING,
    "any": Level.NOTE,
}


def _broker_import(text: str) -> str:
    module, colon, name = text.partition(":")
    dotted = all(part.isidentifier() for part in module.split("."))
    if not (colon and dotted and name.isidentifier()):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected MODULE:NAME, e.g. tasks.broker:broker"
        )
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m migration_checker",
        description="Map a Celery project onto TaskIQ: constructs, hazards, mechanical fixes.",
    )
    parser.add_argument("path", type=Path, help="project folder (or one file) to scan")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON report on stdout")
    fmt.add_argument("--sarif", action="store_true", help="SARIF 2.1.0 report on stdout")
    parser.add_argument(
        "--fail-on",
        choices=list(FAIL_ON),
        default="hazard",
        help="exit 1 when a finding at this level or above exists (default: hazard)",
    )
    parser.add_argument(
        "--fix",
        action="store_true",
        help="print a unified diff of the mechanical rewrites (nothing is written)",
    )
    parser.add_argument("--write", action="store_true", help="with --fix: apply the diff in place")
    parser.add_argument(
        "--broker-import",
        metavar="MODULE:NAME",
        type=_broker_import,
        help=f"with --fix: where rewritten task modules import the broker from "
        f"(default: {DEFAULT_BROKER_IMPORT})",
    )
    return parser


def _fix(result: ScanResult, args: argparse.Namespace, out: TextIO) -> None:
    fixes = fix_project(result, args.broker_import or DEFAULT_BROKER_IMPORT)
    for fix in fixes:
        out.write(unified_diff(fix.path, fix.old, fix.new))
    if args.write:
        base = result.root if result.root.is_dir() else result.root.parent
        for fix in fixes:
            (base / fix.path).write_text(fix.new, encoding="utf-8")
        out.write(f"# wrote {len(fixes)} files\n")
    elif fixes:
        out.write(f"# {len(fixes)} files would change; re-run with --fix --write to apply\n")


def _exit_code(result: ScanResult, fail_on: str) -> int:
    threshold = FAIL_ON[fail_on]
    if threshold is None:
        return EXIT_OK
    failing = any(RULES[f.rule_id].level >= threshold for f in result.findings)
    return EXIT_FAILED if failing else EXIT_OK


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.write and not args.fix:
        parser.error("--write only applies with --fix")
    if args.broker_import and not args.fix:
        parser.error("--broker-import only applies with --fix")
    if not args.path.exists():
        sys.stderr.write(f"migration_checker: error: {args.path}: no such file or directory\n")
        return EXIT_USAGE
    result = scan_project(args.path)
    if args.fix:
        _fix(result, args, out)
    elif args.json:
        out.write(render_json(result))
    elif args.sarif:
        out.write(render_sarif(result))
    else:
        out.write(render_human(result))
    return _exit_code(result, args.fail_on)
