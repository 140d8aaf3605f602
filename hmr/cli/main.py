"""`hmr` console script: one thin argparse layer over the library.

Each sub-command lives in its own module exposing ``add_parser(subparsers)`` and ``run(args) -> int``.
User errors (:class:`hmr.errors.HmrError`) become one line on stderr and exit code 2; anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

import hmr
from hmr.cli.checks import mark_subcommand_parsers, parse_args
from hmr.errors import HmrError
from hmr.native_quiet import filtered_stderr

#: sub-command name -> module implementing it
COMMANDS = {
    "predict": "hmr.cli.predict",
    "convert": "hmr.cli.convert",
    "video": "hmr.cli.video",
    "export": "hmr.cli.export",
    "demo": "hmr.cli.demo",
    "eval": "hmr.cli.eval",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hmr", description="3D human mesh recovery from images and videos.")
    parser.add_argument("--version", action="version", version=f"hmr {hmr.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in COMMANDS.values():
        importlib.import_module(module_name).add_parser(subparsers)
    mark_subcommand_parsers(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parse_args(build_parser(), argv)
    logging.basicConfig(level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO, format="%(message)s")
    try:
        with filtered_stderr():  # native libraries' own log lines are not for users (hmr.native_quiet)
            return int(args.run(args) or 0)
    except HmrError as exc:
        print(f"hmr {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hmr {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
