"""Asset lookup order, the missing-asset message, and the registry."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hmr.body import BODY_MODEL_NAMES, available_body_models, find_asset, load_body_model, param_layout
from hmr.body.assets import MODELS_DIR_ENV
from hmr.errors import HmrError


@pytest.fixture
def three_dirs(tmp_path, monkeypatch):
    """An argument dir, an env dir and ./models, each holding its own SMPL-X neutral file."""
    dirs = {}
    for name in ("arg", "env", "cwd"):
        root = tmp_path / name / ("models" if name == "cwd" else "")
        (root / "smplx").mkdir(parents=True)
        (root / "smplx" / "SMPLX_NEUTRAL.npz").write_text(name)
        dirs[name] = root
    monkeypatch.setenv(MODELS_DIR_ENV, str(dirs["env"]))
    monkeypatch.chdir(tmp_path / "cwd")
    return dirs


def test_argument_beats_env_beats_cwd(three_dirs, monkeypatch):
    assert find_asset("smplx", "neutral", three_dirs["arg"]).read_text() == "arg"
    assert find_asset("smplx", "neutral").read_text() == "env"
    monkeypatch.delenv(MODELS_DIR_ENV)
    assert find_asset("smplx", "neutral").read_text() == "cwd"


def test_later_dirs_are_searched_when_earlier_ones_lack_the_file(three_dirs, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert find_asset("smplx", "neutral", empty).read_text() == "env"


@pytest.mark.parametrize(
    "body, gender, rel, url",
    [
        ("smplx", "neutral", "smplx/SMPLX_NEUTRAL.npz", "https://smpl-x.is.tue.mpg.de"),
        ("smpl", "female", "smpl/SMPL_FEMALE.pkl", "https://smpl.is.tue.mpg.de"),
        ("skel", "male", "skel/skel_male.pkl", "https://skel.is.tue.mpg.de"),
    ],
)
def test_missing_asset_is_one_line_naming_file_dirs_and_url(body, gender, rel, url, tmp_path, monkeypatch):
    arg, env = tmp_path / "arg_dir", tmp_path / "env_dir"
    monkeypatch.setenv(MODELS_DIR_ENV, str(env))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(HmrError) as err:
        load_body_model(body, models_dir=arg, gender=gender)
    message = str(err.value)
    assert "\n" not in message
    for part in (rel, url, str(arg), str(env), str(tmp_path / "models")):
        assert part in message


def test_skel_has_no_neutral_file_but_neutral_loads_male(fake_models_dir):
    with pytest.raises(HmrError, match="male, female"):
        find_asset("skel", "neutral", fake_models_dir)
    assert load_body_model("skel", models_dir=fake_models_dir).gender == "male"


def test_available_models(fake_models_dir, tmp_path, monkeypatch):
    monkeypatch.delenv(MODELS_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert available_body_models() == ["anny"]
    assert available_body_models(fake_models_dir) == list(BODY_MODEL_NAMES)
    monkeypatch.setenv(MODELS_DIR_ENV, str(fake_models_dir))
    assert available_body_models() == list(BODY_MODEL_NAMES)
    only_skel = tmp_path / "m"
    (only_skel / "skel").mkdir(parents=True)
    (only_skel / "skel" / "skel_female.pkl").write_bytes((fake_models_dir / "skel" / "skel_female.pkl").read_bytes())
    monkeypatch.delenv(MODELS_DIR_ENV)
    assert available_body_models(only_skel) == ["skel", "anny"]


def test_unknown_name_is_a_user_error():
    with pytest.raises(HmrError, match="smplx, smpl, skel, anny"):
        load_body_model("smplh")
    with pytest.raises(HmrError):
        param_layout("star")


def test_static_layout_matches_the_loaded_models(smplx_body, smpl_body, skel_body, anny_body):
    for model in (smplx_body, smpl_body, skel_body, anny_body):
        assert param_layout(model.name) == model.param_specs
    assert param_layout("smplx", num_betas=16)["betas"].shape == (16,)


def test_import_is_cheap_and_loads_no_third_party_body_package():
    code = (
        "import sys, hmr.body; print(sorted(m for m in ('smplx', 'anny', 'body_models', 'roma') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
