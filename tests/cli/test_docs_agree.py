"""``--help`` and README.md agree: every option of every command is documented in the README."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from data_tools.cli import build_parser as build_data_parser
from hmr.cli.main import build_parser

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def subcommands(parser: argparse.ArgumentParser, prefix: str):
    """(``"hmr predict"``, parser) for every leaf sub-command."""
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not actions:
        yield prefix, parser
        return
    for name, sub in actions[0].choices.items():
        yield from subcommands(sub, f"{prefix} {name}")


def section(command: str) -> str:
    parts = README.split(f"\n### `{command}", 1)
    assert len(parts) == 2, f"README has no section '### `{command}...`'"
    return f"### `{command}" + parts[1].split("\n### ", 1)[0]


ALL = [*subcommands(build_parser(), "hmr"), *subcommands(build_data_parser(), "hmr-data")]


@pytest.mark.parametrize("command, parser", ALL, ids=[c for c, _ in ALL])
def test_every_option_is_in_the_readme(command, parser):
    """In the command's own section (heading included) or, for ``hmr-data X``, the ``hmr-data`` one."""
    options = {s for a in parser._actions for s in a.option_strings if s.startswith("--") and s != "--help"}
    text = section(command) + (section("hmr-data`") if command.startswith("hmr-data ") else "")
    missing = sorted(o for o in options if not re.search(rf"`[^`]*{re.escape(o)}\b", text))
    assert not missing, f"{command}: options in --help but not in its README section: {missing}"
