"""Stage-by-stage comparison with the reference implementation's intermediates (shared fixture)."""

import numpy as np
import pytest
import torch

from hmr.compat import load_network
from hmr.geometry import rot6d_to_rotmat


@pytest.fixture(scope="module")
def expected(multihmr_fixture):
    return np.load(multihmr_fixture / "expected_vits448.npz")


@pytest.fixture(scope="module")
def network(fixture_checkpoint):
    return load_network(fixture_checkpoint)


@pytest.fixture(scope="module")
def stages(network, expected):
    image = torch.from_numpy(expected["input_padded_uint8"]).permute(2, 0, 1)[None]
    K = torch.from_numpy(expected["K"])[None]
    with torch.no_grad():
        tokens = network.encode(image)
        raw = network(image, K, float(expected["det_thresh"]), int(expected["nms_kernel_size"]))
        hidden = network.x_attention_head(network.context(tokens, K), raw.rows, raw.cols, raw.valid)
        score_map = network.score_map(tokens)
    return tokens, score_map, raw, hidden


def test_backbone_tokens(stages, expected):
    assert np.abs(stages[0].numpy() - expected["backbone_tokens"]).max() < 2e-4


def test_score_map_and_peaks(stages, expected):
    _, score_map, raw, _ = stages
    assert np.abs(score_map.numpy() - expected["score_map"]).max() < 1e-5
    rowcol = torch.stack([raw.rows[0], raw.cols[0]], -1).numpy()
    assert rowcol.tolist() == expected["det_rowcol"].tolist()
    assert np.abs(raw.offset[0].numpy() - expected["offset_raw"]).max() < 1e-5
    assert np.abs(raw.loc_px[0].numpy() - expected["loc_padded"]).max() < 1e-3


def test_head_tokens_and_decoders(stages, network, expected):
    _, _, raw, hidden = stages
    assert np.abs(hidden.numpy() - expected["hph_tokens"]).max() < 1e-4
    head = network.x_attention_head
    for name, key, init in [
        ("pose", "dec_pose_raw", head.init_body_pose),
        ("shape", "dec_betas_raw", head.init_betas),
        ("cam", "dec_cam_raw", head.init_cam),
        ("expression", "dec_expression_raw", head.init_expression),
    ]:
        assert np.abs((raw.decoded[name][0] - init).numpy() - expected[key]).max() < 1e-5, name
    rotmat = rot6d_to_rotmat(raw.decoded["pose"][0].reshape(-1, 53, 6))
    assert np.abs(rotmat.numpy() - expected["rotmat"]).max() < 1e-5


def test_init_buffers_come_from_checkpoint(network):
    # formula value, not the identity a fresh network starts from
    assert not torch.allclose(
        network.x_attention_head.init_body_pose[0, :6], torch.tensor([1.0, 0, 0, 0, 1, 0]), atol=1e-3
    )
