"""Body models by name: load one, list the usable ones, or describe one without loading it.

Adapters import their third-party package (smplx, body-models, anny) only when a model is built,
so ``import hmr.body`` stays cheap and networks can be sized from :func:`param_layout` on a
machine without any licence-gated file.
"""
from __future__ import annotations

import os

import torch

from hmr.body import assets
from hmr.body.anny_body import AnnyBody, anny_param_specs
from hmr.body.base import BodyModel, ParamSpec
from hmr.body.skel_body import SkelBody, skel_param_specs
from hmr.body.smplx_body import SmplBody, SmplxBody, smpl_param_specs, smplx_param_specs
from hmr.errors import HmrError

BODY_MODEL_NAMES = ("smplx", "smpl", "skel", "anny")


def _check_name(name: str) -> str:
    key = name.lower()
    if key not in BODY_MODEL_NAMES:
        raise HmrError(f"unknown body model '{name}'; choose one of {', '.join(BODY_MODEL_NAMES)}")
    return key


def param_layout(name: str, num_betas: int = 10, num_expression: int = 10) -> dict[str, ParamSpec]:
    """The parameters of body model ``name`` without loading any file (sizes a network's decoders).

    ``num_betas`` / ``num_expression`` apply to SMPL-X (and ``num_betas`` to SMPL); SKEL has 10
    betas and Anny none.
    """
    key = _check_name(name)
    if key == "smplx":
        return smplx_param_specs(num_betas, num_expression)
    if key == "smpl":
        return smpl_param_specs(num_betas)
    if key == "skel":
        return skel_param_specs()
    return anny_param_specs()


def load_body_model(name: str, models_dir: str | os.PathLike | None = None, gender: str = "neutral",
                    device: str | torch.device | None = None, **kw) -> BodyModel:
    """Build body model ``name`` (``smplx``, ``smpl``, ``skel`` or ``anny``) in eval mode.

    Asset files are looked up as described in :mod:`hmr.body.assets`; a missing one raises
    ``HmrError``. SKEL has no neutral model: ``gender="neutral"`` loads the male one. For Anny,
    ``gender`` sets the default of the gender phenotype. ``kw`` goes to the adapter
    (``num_betas`` / ``num_expression`` for SMPL-X, ``num_betas`` for SMPL, ``dtype`` for Anny).
    """
    key = _check_name(name)
    gender = gender.lower()
    if key == "anny":
        model: BodyModel = AnnyBody(gender=gender, **kw)
    elif key == "skel":
        gender = "male" if gender == "neutral" else gender
        model = SkelBody(assets.find_asset("skel", gender, models_dir), gender=gender, **kw)
    elif key == "smplx":
        model = SmplxBody(assets.find_asset("smplx", gender, models_dir), gender=gender, **kw)
    else:
        model = SmplBody(assets.find_asset("smpl", gender, models_dir), gender=gender, **kw)
    model.eval()
    return model.to(device) if device is not None else model


def available_body_models(models_dir: str | os.PathLike | None = None) -> list[str]:
    """Names of the body models that can be loaded here: Anny always, others when a file is found."""
    return [n for n in BODY_MODEL_NAMES if n == "anny" or assets.has_assets(n, models_dir)]
