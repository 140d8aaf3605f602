import numpy as np
import torch

from hmr.nn.camera_embed import fourier_features, token_rays


def test_rays_row_index_goes_with_x():
    K = torch.tensor([[[100.0, 0, 20], [0, 200.0, 30], [0, 0, 1]]])
    rays = token_rays(K, 4)
    # token (row 2, col 1): x from the row centre 35, y from the column centre 21
    assert torch.allclose(rays[0, 2, 1], torch.tensor([(35 - 20) / 100.0, (21 - 30) / 200.0, 1.0]))


def test_ray_features_match_fixture(multihmr_fixture):
    expected = np.load(multihmr_fixture / "expected_vits448.npz")
    K = torch.from_numpy(expected["K"])[None]
    features = fourier_features(token_rays(K, 32), 16, 64)
    assert features.shape == (1, 32, 32, 99)
    assert np.abs(features.numpy() - expected["ray_embedding"]).max() < 1e-5


def test_fourier_layout_axis_major():
    rays = torch.tensor([[0.1, 0.2, 1.0]])
    f = fourier_features(rays, num_bands=2, max_resolution=4)  # freqs 1, 2
    sin_expected = torch.sin(torch.pi * torch.tensor([0.1, 0.2, 0.2, 0.4, 1.0, 2.0]))
    assert torch.allclose(f[0, 3:9], sin_expected, atol=1e-6)
    assert torch.allclose(f[0, 9:15], torch.cos(torch.pi * torch.tensor([0.1, 0.2, 0.2, 0.4, 1.0, 2.0])), atol=1e-6)
