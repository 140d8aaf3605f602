"""Argument checks every CLI runs before it loads anything.

A mistake in a flag must cost the user a second, not a model load and an inference: each check
raises :class:`hmr.errors.HmrError` (one line on stderr, exit code 2) naming the flag, what is
wrong and what to pass instead. Nothing here imports torch or a model.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
from pathlib import Path

from hmr.errors import HmrError

#: what ``--device`` may say: auto, cpu, cuda, cuda:N (and tensorrt for the ONNX backend)
_DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?|tensorrt(:\d+)?)$")


def check_out_dir(path: str | os.PathLike, flag: str = "--out") -> Path:
    """Create the output folder ``path`` if needed and prove it is writable; returns it."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise HmrError(f"{flag} {out} is a file, not a folder; choose a folder path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HmrError(f"{flag} {out} cannot be created ({exc.strerror}); choose a writable folder") from None
    _check_writable(out, flag)
    return out


def check_out_file(path: str | os.PathLike, flag: str = "--out", suffixes: tuple[str, ...] = ()) -> Path:
    """Check that the output file ``path`` can be written (its folder is created); returns it."""
    out = Path(path)
    if suffixes and out.suffix.lower() not in suffixes:
        raise HmrError(f"{flag} must end in {' or '.join(suffixes)}, got {out.name}")
    if out.is_dir():
        raise HmrError(f"{flag} {out} is a folder; give a file path such as {out / ('model' + (suffixes or ('',))[0])}")
    check_out_dir(out.parent, flag=f"{flag}'s folder")
    return out


def _check_writable(folder: Path, flag: str) -> None:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".hmr-write-check-"):
            pass
    except OSError as exc:
        raise HmrError(f"{flag} {folder} is not writable ({exc.strerror}); choose a writable folder") from None


def check_at_least(value: int | float | None, minimum: int | float, flag: str) -> None:
    if value is not None and value < minimum:
        raise HmrError(f"{flag} must be at least {minimum}, got {value}")


def check_between(value: float | None, low: float, high: float, flag: str, *, open_interval: bool = False) -> None:
    """``low <= value <= high`` (``low < value < high`` with ``open_interval``)."""
    if value is None:
        return
    inside = low < value < high if open_interval else low <= value <= high
    if not inside:
        brackets = ("(", ")") if open_interval else ("[", "]")
        raise HmrError(f"{flag} must be in {brackets[0]}{low:g}, {high:g}{brackets[1]}, got {value:g}")


def check_odd_kernel(value: int, flag: str = "--nms") -> None:
    if value < 1 or value % 2 == 0:
        raise HmrError(f"{flag} must be an odd kernel size (1, 3, 5, ...), got {value}")


def check_device(device: str, backend: str = "torch") -> None:
    """A ``--device`` the chosen runtime understands and this machine has.

    CUDA availability is asked of torch for the torch runtimes and of the installed onnxruntime
    wheel for ONNX (where the provider choice itself raises the precise error later).
    """
    spec = str(device).lower()
    if not _DEVICE_PATTERN.match(spec) or (spec.startswith("tensorrt") and backend != "onnx"):
        choices = "auto, cpu, cuda, cuda:N" + (" or tensorrt" if backend == "onnx" else "")
        raise HmrError(f"unknown --device {device!r}; use {choices}")
    if not spec.startswith("cuda") or backend == "onnx":
        return
    import torch

    if not torch.cuda.is_available():
        raise HmrError(f"--device {device} requested but CUDA is not available on this machine; use --device cpu")
    index = int(spec.split(":")[1]) if ":" in spec else 0
    if index >= torch.cuda.device_count():
        raise HmrError(f"--device {device}: this machine has {torch.cuda.device_count()} GPU(s), numbered from 0")


def mark_subcommand_parsers(parser: argparse.ArgumentParser) -> None:
    """Record in each (nested) sub-command's defaults its own parser, so that a flag no sub-command
    knows is reported with that sub-command's usage rather than the top-level one."""
    for action in parser._actions:  # argparse keeps sub-parsers in a private action type
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for sub in action.choices.values():
            sub.set_defaults(command_parser=sub)
            mark_subcommand_parsers(sub)


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``parse_args``, with unknown flags reported by the sub-command that was given them."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        getattr(args, "command_parser", parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    return args
