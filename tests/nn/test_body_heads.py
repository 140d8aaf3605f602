"""The same network serves SMPL-X, SKEL and Anny: each builds, runs and decodes to valid bodies."""

import numpy as np
import pytest
import torch

from hmr.body import load_body_model
from hmr.nn import build_network, get_config
from hmr.nn.outputs import decode_body_params, output_layout


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).integers(0, 255, (100, 130, 3), dtype=np.uint8)


def tiny(body_model: str):
    torch.manual_seed(1)
    network = build_network(get_config("test-tiny-112", body_model=body_model))
    with torch.no_grad():
        network.mlp_classif[2].bias.fill_(0.5)
        for name in network.layout.decoders:  # larger residuals so decoding is exercised away from the init
            getattr(network.x_attention_head, f"dec{name}").weight.mul_(20)
    return network


@pytest.mark.parametrize("body_model", ["smplx", "skel", "anny"])
def test_network_decodes_to_valid_bodies(body_model, fake_models_dir, image):
    from hmr import Predictor

    predictor = Predictor(tiny(body_model), models_dir=fake_models_dir, device="cpu")
    result = predictor.predict(image, det_thresh=0.55)
    assert result.body_model == body_model and len(result) > 0
    # float64 re-posing: rotations near pi lose ~1e-4 m through float32 axis-angle
    body = load_body_model(body_model, models_dir=fake_models_dir).double()
    for person in result.persons:
        assert np.isfinite(person.vertices).all() and np.isfinite(person.joints_3d).all()
        assert person.vertices.shape == (body.num_vertices, 3)
        # re-posing from the stored parameters gives the same mesh up to a translation
        params = {k: torch.from_numpy(v)[None].double() for k, v in person.params.items()}
        reposed = body(**params).vertices[0].numpy()
        shift = person.vertices - reposed
        assert np.abs(shift - np.median(shift, 0)).max() < 1e-5
        assert np.allclose(person.joints_3d[body.head_joint], person.transl, atol=1e-5)
    if body_model == "anny":
        assert result.shape_names == ["gender", "age", "muscle", "weight", "height", "proportions"]
        betas = result.stacked()["betas"]
        assert (betas >= -1 / 3 - 1e-6).all() and (betas <= 1 + 1e-6).all()
    if body_model == "skel":
        from hmr.body.skel_dofs import dof_groups

        poses = result.stacked()["param_poses"]
        assert poses.shape[1] == 46 and (np.abs(poses) <= np.pi + 1e-5).all()
        assert (np.abs(poses[:, dof_groups()["small"]]) <= np.pi / 2 + 1e-5).all()


def test_skel_pose_layout_roundtrip():
    """Encoding known SKEL angles into the decoder layout and decoding gives them back."""
    from hmr.body.skel_dofs import BALL_JOINT_DOFS, ball_dofs_to_rotmats, dof_groups
    from hmr.geometry import rotmat_to_rot6d

    layout = output_layout("skel")
    g = torch.Generator().manual_seed(0)
    poses = (torch.rand(4, 46, generator=g) - 0.5) * 1.2
    small = dof_groups()["small"]
    raw_small = torch.atanh(poses[:, small] / (torch.pi / 2)) * (torch.pi / 2)
    groups = dof_groups()
    raw = torch.cat(
        [
            rotmat_to_rot6d(ball_dofs_to_rotmats(poses)).flatten(1),
            torch.stack([poses[:, groups["hinge"]].cos(), poses[:, groups["hinge"]].sin()], -1).flatten(1) * 3,
            raw_small,
        ],
        1,
    )
    assert raw.shape[1] == layout.decoders["pose"]
    decoded = decode_body_params(layout, {"pose": raw, "shape": torch.zeros(4, 10)})
    assert torch.allclose(decoded.full_params["poses"], poses, atol=1e-5)
    assert (decoded.body_params["poses"][:, list(BALL_JOINT_DOFS[0])] == 0).all()


@pytest.mark.parametrize("body_model", ["smplx", "skel", "anny"])
def test_batch_without_persons(body_model, fake_models_dir, image):
    from hmr import Predictor

    predictor = Predictor(tiny(body_model), models_dir=fake_models_dir, device="cpu")
    results = predictor.predict([image, image], det_thresh=1.0)
    assert [len(r) for r in results] == [0, 0] and all(r.message for r in results)
    assert results[0].stacked()["vertices"].shape[0] == 0
