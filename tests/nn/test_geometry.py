import math

import pytest
import torch

from hmr.camera import intrinsics_from_fov
from hmr.geometry import project, rot6d_to_rotmat, rotmat_to_rot6d, rotmat_to_rotvec, rotvec_to_rotmat


def random_rotmats(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return rotvec_to_rotmat(torch.randn(n, 3, generator=g, dtype=torch.float64) * 1.5)


def test_rot6d_roundtrip_and_orthonormal():
    R = random_rotmats(64)
    back = rot6d_to_rotmat(rotmat_to_rot6d(R))
    assert torch.allclose(back, R, atol=1e-12)
    raw = torch.randn(100, 6, dtype=torch.float64)
    M = rot6d_to_rotmat(raw)
    assert torch.allclose(M @ M.transpose(-1, -2), torch.eye(3, dtype=torch.float64).expand(100, 3, 3), atol=1e-12)
    assert torch.allclose(torch.linalg.det(M), torch.ones(100, dtype=torch.float64), atol=1e-12)


def test_rot6d_layout_reads_two_columns():
    # Multi-HMR reads the 6 numbers as reshape(2, 3).T: first three are the first column.
    x = torch.tensor([[0.0, 1.0, 0.0, -1.0, 0.0, 0.0]])
    M = rot6d_to_rotmat(x)[0]
    assert torch.allclose(M[:, 0], torch.tensor([0.0, 1.0, 0.0]))
    assert torch.allclose(M[:, 1], torch.tensor([-1.0, 0.0, 0.0]))
    assert torch.allclose(M[:, 2], torch.tensor([0.0, 0.0, 1.0]))


def test_rotvec_stable_near_pi():
    axis = torch.tensor([0.6, -0.48, 0.64], dtype=torch.float32)
    axis = axis / axis.norm()
    angle = math.pi - 2.9e-4
    R = rotvec_to_rotmat((axis * angle).double()).float()
    rv = rotmat_to_rotvec(R)
    err = min((rv - axis * angle).abs().max(), (rv - axis * (angle - 2 * math.pi)).abs().max())
    assert err < 1e-3


def test_intrinsics_from_fov_uses_longer_side():
    K = intrinsics_from_fov(640, 480, 60.0)
    assert K[0, 0] == pytest.approx(640 / (2 * math.tan(math.radians(30))))
    assert K[0, 0] == K[1, 1]
    assert tuple(K[:2, 2]) == (320.0, 240.0)
    K_portrait = intrinsics_from_fov(480, 640, 60.0)
    assert K_portrait[0, 0] == pytest.approx(K[0, 0])


def test_project_matches_pinhole():
    K = torch.tensor([[500.0, 0, 320], [0, 400.0, 240], [0, 0, 1]])
    X = torch.tensor([[0.2, -0.1, 2.0], [0.0, 0.0, 5.0]])
    uv = project(X, K)
    assert torch.allclose(uv, torch.tensor([[370.0, 220.0], [320.0, 240.0]]))
