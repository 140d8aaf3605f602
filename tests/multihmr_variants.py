"""Multi-HMR key listings for other head depths, head counts and resolutions, derived from the shared
fixture's listing the way the reference network's shapes scale, plus formula-weight checkpoints of them."""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import re
from pathlib import Path

import torch

HEAD_DIM = 32


def _formula_module(fixture_dir: Path):
    spec = importlib.util.spec_from_file_location("formula_weights", fixture_dir / "formula_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def variant_listing(fixture_dir: Path, xat_depth: int, heads: int, img_size: int) -> list[dict]:
    base = json.loads((fixture_dir / "keys_vits448.json").read_text())["keys"]
    layer = re.compile(r"x_attention_head\.transformer\.transformer\.layers\.(\d+)\.(.*)")
    head_keys = [e for e in base if (m := layer.match(e["key"])) and m.group(1) == "0"]
    entries: list[dict] = []
    inserted = False
    for entry in base:
        if layer.match(entry["key"]):
            if not inserted:
                for depth in range(xat_depth):
                    for template in head_keys:
                        e = copy.deepcopy(template)
                        e["key"] = e["key"].replace("layers.0.", f"layers.{depth}.", 1)
                        inner = heads * HEAD_DIM
                        if e["key"].endswith("to_qkv.weight"):
                            e["shape"] = [3 * inner, e["shape"][1]]
                        elif e["key"].endswith("to_kv.weight"):
                            e["shape"] = [2 * inner, e["shape"][1]]
                        elif e["key"].endswith("to_q.weight"):
                            e["shape"] = [inner, e["shape"][1]]
                        elif e["key"].endswith("to_out.0.weight"):
                            e["shape"] = [e["shape"][0], inner]
                        entries.append(e)
                inserted = True
            continue
        e = copy.deepcopy(entry)
        if re.search(r"cross_(queries|values)_[xy]$", e["key"]):
            e["shape"] = [img_size // 14, e["shape"][1]]
        entries.append(e)
    return entries


def write_variant_checkpoint(
    fixture_dir: Path, out: Path, xat_depth: int, heads: int, img_size: int, phase: float = 0.0
) -> Path:
    formula = _formula_module(fixture_dir)
    args = json.loads((fixture_dir / "args_vits448.json").read_text())
    args.update(xat_depth=xat_depth, xat_num_heads=heads, img_size=[img_size])
    state_dict = formula.formula_state_dict(variant_listing(fixture_dir, xat_depth, heads, img_size), phase=phase)
    torch.save({"epoch": 0, "iter": 0, "model_state_dict": state_dict, "args": argparse.Namespace(**args)}, out)
    return out
