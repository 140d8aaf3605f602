import argparse
import os
import sys
from pathlib import Path

import pytest
import torch

from hmr.compat import load_network
from hmr.compat.multihmr import config_from_args, read_checkpoint
from hmr.errors import HmrError
from hmr.nn.backbone import resample_dinov2_pos_embed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from multihmr_variants import write_variant_checkpoint  # noqa: E402


def test_config_ignores_training_fields(fixture_checkpoint):
    blob = read_checkpoint(fixture_checkpoint)
    config = config_from_args(blob["args"])
    assert (config.backbone, config.img_size, config.xat_depth, config.xat_num_heads) == ("dinov2_vits14", 448, 2, 8)
    assert config.body_model == "smplx" and config.num_bands == 16 and config.max_resolution == 64


def test_unsupported_args_are_named():
    args = argparse.Namespace(backbone="dinov2_vits14", img_size=[448], camera_embedding="none")
    with pytest.raises(HmrError, match="camera_embedding"):
        config_from_args(args)
    with pytest.raises(HmrError, match="backbone"):
        config_from_args(argparse.Namespace(backbone="resnet50", img_size=[448]))


def test_truncated_checkpoint_is_a_clear_error(fixture_checkpoint, tmp_path):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(fixture_checkpoint.read_bytes()[: 1 << 20])
    with pytest.raises(HmrError, match="cannot be read"):
        load_network(broken)


def test_missing_and_unexpected_keys_are_named(fixture_checkpoint, tmp_path):
    blob = read_checkpoint(fixture_checkpoint)
    del blob["model_state_dict"]["mlp_offset.0.weight"]
    blob["model_state_dict"]["extra.weight"] = torch.zeros(1)
    path = tmp_path / "wrong_keys.pt"
    torch.save(blob, path)
    with pytest.raises(HmrError) as info:
        load_network(path)
    message = str(info.value)
    assert "mlp_offset.0.weight" in message and "extra.weight" in message and "\n" not in message


def test_not_a_checkpoint_dict(tmp_path):
    path = tmp_path / "weights_only.pt"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(HmrError, match="model_state_dict"):
        load_network(path)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch EXPLOITED",))


def test_pickled_code_is_not_executed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"model_state_dict": {}, "args": _Exploit()}, path)
    with pytest.raises(HmrError):
        load_network(path)
    assert not (tmp_path / "EXPLOITED").exists()


def test_pos_embed_resampling_matches_dinov2_rule():
    grid = torch.arange(37 * 37 * 2, dtype=torch.float32).reshape(1, 37 * 37, 2) / 100
    pos = torch.cat([torch.full((1, 1, 2), 7.0), grid], 1)
    same = resample_dinov2_pos_embed(pos, 518)
    assert torch.equal(same, pos)
    out = resample_dinov2_pos_embed(pos, 448)
    assert out.shape == (1, 1 + 32 * 32, 2) and torch.equal(out[:, 0], pos[:, 0])
    # a linear ramp stays (nearly) linear under bicubic: corners keep the ramp's direction
    patch = out[0, 1:].reshape(32, 32, 2)
    assert patch[0, 0, 0] < patch[0, -1, 0] < patch[-1, 0, 0]


def test_convert_roundtrip_keeps_predictions(fixture_checkpoint, tmp_path):
    from hmr.cli.main import main

    ours = tmp_path / "net.safetensors"
    back = tmp_path / "back.pt"
    assert main(["convert", str(fixture_checkpoint), str(ours), "-q"]) == 0
    assert main(["convert", str(ours), str(back), "-q"]) == 0
    a, b, c = load_network(fixture_checkpoint), load_network(ours), load_network(back)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]) and torch.equal(value, c.state_dict()[key]), key
    assert b.config == a.config == c.config


def test_safetensors_without_config_is_refused(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(HmrError, match="hmr convert"):
        load_network(path)


@pytest.mark.parametrize("depth,heads,img_size", [(1, 4, 448), (3, 16, 224)])
def test_other_head_shapes_and_resolutions_load(multihmr_fixture, tmp_path, depth, heads, img_size):
    path = write_variant_checkpoint(multihmr_fixture, tmp_path / "variant.pt", depth, heads, img_size)
    network = load_network(path)
    assert len(network.x_attention_head.transformer.transformer.layers) == depth
    assert network.config.img_size == img_size and network.config.xat_num_heads == heads
    assert network.backbone.encoder.pos_embed.shape[1] == 1 + (img_size // 14) ** 2
