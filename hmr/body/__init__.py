"""Body models (SMPL-X, SMPL, SKEL, Anny) behind one interface, and the asset-folder lookup.

``load_body_model(name)`` builds one, ``available_body_models()`` lists those usable here and
``param_layout(name)`` describes one's parameters without loading anything.
"""

from hmr.body.base import BodyModel, BodyOutput, ParamSpec
from hmr.body.registry import BODY_MODEL_NAMES, available_body_models, find_asset, load_body_model, param_layout

__all__ = [
    "BODY_MODEL_NAMES",
    "BodyModel",
    "BodyOutput",
    "ParamSpec",
    "available_body_models",
    "find_asset",
    "load_body_model",
    "param_layout",
]
