"""Converter names for ``hmr-data convert NAME``; modules load only when used."""

from __future__ import annotations

import importlib

from data_tools.base import Converter
from hmr.errors import HmrError

CONVERTERS = {
    "bedlam": "data_tools.convert_bedlam:Bedlam",
    "agora": "data_tools.convert_agora:Agora",
    "3dpw": "data_tools.convert_3dpw:ThreeDPW",
    "emdb": "data_tools.convert_emdb:Emdb",
    "ehf": "data_tools.convert_ehf:Ehf",
    "coco": "data_tools.convert_coco:Coco",
    "coco-wholebody": "data_tools.convert_coco:CocoWholeBody",
    "h36m": "data_tools.convert_h36m:Human36M",
    "4dhumans": "data_tools.convert_4dhumans:FourDHumans",
}


def get_converter(name: str) -> Converter:
    if name not in CONVERTERS:
        raise HmrError(f"unknown dataset {name!r}; choose from {', '.join(CONVERTERS)}")
    module, cls = CONVERTERS[name].split(":")
    return getattr(importlib.import_module(module), cls)()
