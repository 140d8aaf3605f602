"""The body-model table: a new body model is one adapter plus one ``BodyModelEntry``, nothing else."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hmr.body import (
    BODY_MODEL_NAMES,
    BodyModel,
    BodyOutput,
    ParamSpec,
    available_body_models,
    find_asset,
    load_body_model,
    param_layout,
    registry,
)
from hmr.body.assets import MODELS_DIR_ENV, AssetFamily
from hmr.errors import HmrError


def toy_param_specs(num_betas: int = 10) -> dict[str, ParamSpec]:
    specs = [ParamSpec("global_orient", (3,), "rotvec"), ParamSpec("betas", (num_betas,), "real")]
    return {s.name: s for s in specs}


class ToyBody(BodyModel):
    """Two vertices, one joint, no assets: the smallest body model the interface allows."""

    name = "toy"

    def __init__(self, model_path=None, gender: str = "neutral", scale: float = 1.0) -> None:
        super().__init__()
        self.model_path, self.gender = model_path, gender
        self.joint_names = ["pelvis"]
        self.param_specs = toy_param_specs()
        self.register_buffer("template", torch.tensor([[0.0, 0.0, 0.0], [0.0, scale, 0.0]]))

    @property
    def num_vertices(self) -> int:
        return 2

    def forward(self, **params: torch.Tensor) -> BodyOutput:
        batch = params["betas"].shape[0]
        vertices = self.template.expand(batch, -1, -1) + params["betas"][:, :1, None]
        return BodyOutput(vertices=vertices, joints=vertices[:, :1])


TOY = registry.BodyModelEntry("toy", ToyBody, toy_param_specs, ("num_betas",), joint_names="'pelvis'")
TOY_GATED = dataclasses.replace(
    TOY,
    assets=AssetFamily("Toy", "toy/toy_{gender}.bin", ("male", "female"), "https://toy.example"),
    neutral_gender="female",
)


@pytest.fixture
def with_entry(monkeypatch, tmp_path):
    """Register an entry in a copy of the table (the real one is left alone); no other file is touched."""
    monkeypatch.delenv(MODELS_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)

    def register(entry: registry.BodyModelEntry) -> None:
        monkeypatch.setattr(registry, "BODY_MODELS", {**registry.BODY_MODELS, entry.name: entry})

    return register


def test_table_order_and_names():
    assert BODY_MODEL_NAMES == ("smplx", "smpl", "skel", "anny") == tuple(registry.BODY_MODELS)
    for name, entry in registry.BODY_MODELS.items():
        assert entry.name == name == entry.adapter.name
        assert entry.joint_names
    assert [n for n, e in registry.BODY_MODELS.items() if e.licence_gated] == ["smplx", "smpl", "skel"]
    assert registry.BODY_MODELS["skel"].neutral_gender == "male"
    assert {n: e.assets.relpath("male") for n, e in registry.BODY_MODELS.items() if e.assets} == {
        "smplx": "smplx/SMPLX_MALE.npz",
        "smpl": "smpl/SMPL_MALE.pkl",
        "skel": "skel/skel_male.pkl",
    }


def test_a_new_asset_free_model_is_one_entry(with_entry):
    with pytest.raises(HmrError, match="choose one of smplx, smpl, skel, anny$"):
        load_body_model("toy")
    with_entry(TOY)
    assert param_layout("toy") == toy_param_specs()
    assert param_layout("TOY", num_betas=5, num_expression=7)["betas"].shape == (5,)
    model = load_body_model("Toy", gender="MALE", scale=2.0)
    assert isinstance(model, ToyBody) and not model.training
    assert model.gender == "male" and model.model_path is None
    assert model.output_sizes() == (2, 1)
    assert available_body_models() == ["anny", "toy"]
    with pytest.raises(HmrError, match="choose one of smplx, smpl, skel, anny, toy$"):
        load_body_model("toy2")
    with pytest.raises(HmrError, match="no asset files for body model 'toy'; known: smplx, smpl, skel$"):
        find_asset("toy")


def test_a_new_licence_gated_model_is_one_entry(with_entry, tmp_path):
    with_entry(TOY_GATED)
    assert available_body_models(tmp_path) == ["anny"]
    with pytest.raises(HmrError, match=r"Toy file toy/toy_female.bin not found; .* register at https://toy.example"):
        load_body_model("toy", models_dir=tmp_path)
    with pytest.raises(HmrError, match="Toy has no 'neutral' model; choose gender from male, female"):
        find_asset("toy", "neutral", tmp_path)
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "toy_female.bin").write_bytes(b"")
    assert available_body_models(tmp_path) == ["anny", "toy"]
    model = load_body_model("toy", models_dir=tmp_path)  # neutral -> the entry's neutral_gender
    assert model.gender == "female" and model.model_path == tmp_path / "toy" / "toy_female.bin"
    with pytest.raises(HmrError, match="toy/toy_male.bin not found"):
        load_body_model("toy", models_dir=tmp_path, gender="male")
