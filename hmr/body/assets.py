"""Where the licence-gated body-model files are looked for, and the error when they are missing.

SMPL-X, SMPL and SKEL are distributed by MPI-IS under non-commercial licences, so users download
them themselves and we only look them up. Anny needs nothing: its pip package bundles its assets.

Search order (first hit wins): the ``models_dir`` argument (the CLI's ``--models-dir``), then
``$HMR_MODELS_DIR``, then ``./models`` relative to the working directory. Inside a models folder
the layout is the one the ``smplx`` package and Multi-HMR use::

    smplx/SMPLX_{NEUTRAL,MALE,FEMALE}.npz
    smpl/SMPL_{NEUTRAL,MALE,FEMALE}.pkl
    skel/skel_{male,female}.pkl

Which files a body model needs is its entry's ``assets`` (an :class:`AssetFamily`) in
:data:`hmr.body.registry.BODY_MODELS`, the one table of body models; this module only looks files up
(:func:`hmr.body.find_asset` goes from a model name to its file).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hmr.errors import HmrError

MODELS_DIR_ENV = "HMR_MODELS_DIR"


@dataclass(frozen=True)
class AssetFamily:
    """The files of one licence-gated body model and where users register for them."""

    title: str
    #: path inside a models folder; ``{GENDER}`` / ``{gender}`` are filled in upper / lower case
    pattern: str
    genders: tuple[str, ...]
    register_url: str

    def relpath(self, gender: str) -> str:
        return self.pattern.format(GENDER=gender.upper(), gender=gender.lower())


def search_dirs(models_dir: str | os.PathLike | None = None) -> list[tuple[Path, str]]:
    """The folders searched, in order, each with where it came from (for messages)."""
    dirs: list[tuple[Path, str]] = []
    if models_dir is not None:
        dirs.append((Path(models_dir).expanduser(), "--models-dir"))
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        dirs.append((Path(env).expanduser(), f"${MODELS_DIR_ENV}"))
    dirs.append((Path.cwd() / "models", "./models"))
    return dirs


def find_file(family: AssetFamily, gender: str, models_dir: str | os.PathLike | None = None) -> Path:
    """Path of ``family``'s file for ``gender``; raises ``HmrError`` naming every folder looked in."""
    gender = gender.lower()
    if gender not in family.genders:
        raise HmrError(f"{family.title} has no '{gender}' model; choose gender from {', '.join(family.genders)}")
    rel = family.relpath(gender)
    dirs = search_dirs(models_dir)
    for folder, _ in dirs:
        if (folder / rel).is_file():
            return folder / rel
    looked = ", ".join(f"{folder} ({origin})" for folder, origin in dirs)
    raise HmrError(
        f"{family.title} file {rel} not found; looked in {looked}; register at {family.register_url}, "
        f"download it and put it at <models-dir>/{rel} (see models/README.md)"
    )


def family_present(family: AssetFamily, models_dir: str | os.PathLike | None = None) -> bool:
    """Whether any gender of ``family`` is present in the searched folders."""
    return any((folder / family.relpath(g)).is_file() for folder, _ in search_dirs(models_dir) for g in family.genders)
