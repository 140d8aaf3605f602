"""Body models by name: load one, list the usable ones, or describe one without loading it.

Adapters import their third-party package (smplx, body-models, anny) only when a model is built,
so ``import hmr.body`` stays cheap and networks can be sized from :func:`param_layout` on a
machine without any licence-gated file.

:data:`BODY_MODELS` is the one table of body models: adding one is a new adapter module (a
:class:`~hmr.body.base.BodyModel` subclass and an asset-free ``*_param_specs`` function) plus one
:class:`BodyModelEntry` here. Nothing else names body models one by one: :func:`load_body_model`,
:func:`param_layout`, :func:`available_body_models` and :mod:`hmr.body.assets` all read the table.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from hmr.body import assets
from hmr.body.anny_body import AnnyBody, anny_param_specs
from hmr.body.assets import AssetFamily
from hmr.body.base import BodyModel, ParamSpec
from hmr.body.skel_body import SkelBody, skel_param_specs
from hmr.body.smplx_body import SmplBody, SmplxBody, smpl_param_specs, smplx_param_specs
from hmr.errors import HmrError

#: the size options of :func:`param_layout`, which an entry's layout function may take
LAYOUT_OPTIONS = ("num_betas", "num_expression")


@dataclass(frozen=True)
class BodyModelEntry:
    """Everything the registry knows about one body model, as data.

    ``adapter`` is built as ``adapter(path, gender=..., **kw)`` when the model has asset files
    (``path`` from :func:`find_asset`), else as ``adapter(gender=..., **kw)``.
    """

    #: registry key, lower case; equals ``adapter.name``
    name: str
    #: the :class:`BodyModel` subclass that :func:`load_body_model` builds
    adapter: type[BodyModel]
    #: asset-free parameter layout (what :func:`param_layout` returns)
    param_layout: Callable[..., dict[str, ParamSpec]]
    #: which of :data:`LAYOUT_OPTIONS` ``param_layout`` takes as keywords (the others are ignored)
    layout_options: tuple[str, ...] = ()
    #: the licence-gated files users download (folder / file name per gender); ``None``: nothing
    #: to download (the pip package bundles its assets), so the model is always available
    assets: AssetFamily | None = None
    #: the gender ``gender="neutral"`` loads (SKEL has no neutral model: ``"male"``)
    neutral_gender: str = "neutral"
    #: where the adapter's ``joint_names`` come from (documentation; they are known once loaded)
    joint_names: str = ""

    @property
    def licence_gated(self) -> bool:
        """Whether the model needs files users download themselves under a licence."""
        return self.assets is not None


BODY_MODELS: dict[str, BodyModelEntry] = {
    e.name: e
    for e in (
        BodyModelEntry(
            "smplx",
            SmplxBody,
            smplx_param_specs,
            ("num_betas", "num_expression"),
            AssetFamily(
                "SMPL-X", "smplx/SMPLX_{GENDER}.npz", ("neutral", "male", "female"), "https://smpl-x.is.tue.mpg.de"
            ),
            joint_names="smplx.joint_names.JOINT_NAMES[:127] (55 skeleton, 21 vertex joints, 51 face landmarks)",
        ),
        BodyModelEntry(
            "smpl",
            SmplBody,
            smpl_param_specs,
            ("num_betas",),
            AssetFamily("SMPL", "smpl/SMPL_{GENDER}.pkl", ("neutral", "male", "female"), "https://smpl.is.tue.mpg.de"),
            joint_names="smplx.joint_names.JOINT_NAMES: 22 body joints, left/right hand, 21 vertex joints",
        ),
        BodyModelEntry(
            "skel",
            SkelBody,
            skel_param_specs,
            assets=AssetFamily("SKEL", "skel/skel_{gender}.pkl", ("male", "female"), "https://skel.is.tue.mpg.de"),
            neutral_gender="male",
            joint_names="body-models' SKEL.joint_names (= hmr.body.skel_dofs.SKEL_JOINT_NAMES)",
        ),
        BodyModelEntry(
            "anny",
            AnnyBody,
            anny_param_specs,
            joint_names="hmr.body.anny_body.ANNY_BONE_LABELS, then anny's COCO-WholeBody labels prefixed 'coco_'",
        ),
    )
}

#: the registered names at import, in table order (smplx, smpl, skel, anny)
BODY_MODEL_NAMES = tuple(BODY_MODELS)


def _check_name(name: str) -> str:
    key = name.lower()
    if key not in BODY_MODELS:
        raise HmrError(f"unknown body model '{name}'; choose one of {', '.join(BODY_MODELS)}")
    return key


def param_layout(name: str, num_betas: int = 10, num_expression: int = 10) -> dict[str, ParamSpec]:
    """The parameters of body model ``name`` without loading any file (sizes a network's decoders).

    ``num_betas`` / ``num_expression`` apply to SMPL-X (and ``num_betas`` to SMPL); SKEL has 10
    betas and Anny none.
    """
    entry = BODY_MODELS[_check_name(name)]
    options = {"num_betas": num_betas, "num_expression": num_expression}
    return entry.param_layout(**{k: options[k] for k in entry.layout_options})


def load_body_model(
    name: str,
    models_dir: str | os.PathLike | None = None,
    gender: str = "neutral",
    device: str | torch.device | None = None,
    **kw,
) -> BodyModel:
    """Build body model ``name`` (``smplx``, ``smpl``, ``skel`` or ``anny``) in eval mode.

    Asset files are looked up as described in :mod:`hmr.body.assets`; a missing one raises
    ``HmrError``. SKEL has no neutral model: ``gender="neutral"`` loads the male one. For Anny,
    ``gender`` sets the default of the gender phenotype. ``kw`` goes to the adapter
    (``num_betas`` / ``num_expression`` for SMPL-X, ``num_betas`` for SMPL, ``dtype`` for Anny).
    """
    key = _check_name(name)
    entry = BODY_MODELS[key]
    gender = gender.lower()
    if gender == "neutral":
        gender = entry.neutral_gender
    # the subclasses' constructors take (path,) gender and keywords; BodyModel's own takes none
    adapter: Callable[..., BodyModel] = entry.adapter
    if entry.assets is None:
        model = adapter(gender=gender, **kw)
    else:
        model = adapter(assets.find_file(entry.assets, gender, models_dir), gender=gender, **kw)
    model.eval()
    return model.to(device) if device is not None else model


def available_body_models(models_dir: str | os.PathLike | None = None) -> list[str]:
    """Names of the body models that can be loaded here: Anny always, others when a file is found."""
    return [n for n, e in BODY_MODELS.items() if e.assets is None or assets.family_present(e.assets, models_dir)]


def find_asset(body_model: str, gender: str = "neutral", models_dir: str | os.PathLike | None = None) -> Path:
    """Path of the asset file of ``body_model`` / ``gender``; raises ``HmrError`` if none is found."""
    entry = BODY_MODELS[_check_name(body_model)]
    if entry.assets is None:
        gated = ", ".join(n for n, e in BODY_MODELS.items() if e.assets is not None)
        raise HmrError(f"no asset files for body model '{body_model}'; known: {gated}")
    return assets.find_file(entry.assets, gender, models_dir)
