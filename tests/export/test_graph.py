"""The export-friendly pieces against their eager counterparts, without exporting anything."""

import pytest
import roma
import torch

from hmr.errors import HmrError
from hmr.export.graph import select_persons
from hmr.export.smplx_lbs import SmplxLbs
from hmr.nn.detection import find_peaks
from hmr.nn.network import pack_peaks


def _score_maps(batch=3, grid=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, grid, grid, generator=generator) * 0.5 + 0.25


@pytest.mark.parametrize("det_thresh", [0.55, 0.6, 0.7, 0.74, 0.9])
def test_select_persons_matches_eager_peaks(det_thresh):
    score_map = _score_maps()
    score_map[2] = 0.3  # a flat image with a single person
    score_map[2, 4, 5] = 0.72
    scores, rows, cols, valid = select_persons(score_map, torch.tensor(det_thresh), 12, 3)
    eager_rows, eager_cols, eager_valid = pack_peaks(find_peaks(score_map, det_thresh, 3), 3)
    for b in range(3):
        count = int(eager_valid[b].sum())
        assert int(valid[b].sum()) == count
        assert valid[b, :count].all() and not valid[b, count:].any()  # valid slots first
        assert rows[b, :count].tolist() == eager_rows[b, :count].tolist()  # row-major, like eager
        assert cols[b, :count].tolist() == eager_cols[b, :count].tolist()
        assert torch.equal(scores[b, :count], score_map[b, rows[b, :count], cols[b, :count]])
        assert (scores[b, count:] == 0).all()


def test_select_persons_keeps_the_best_when_slots_run_out():
    score_map = _score_maps(batch=1, grid=14, seed=1)
    peaks = find_peaks(score_map, 0.5, 3)
    assert len(peaks) > 4
    scores, rows, cols, valid = select_persons(score_map, torch.tensor(0.5), 4, 3)
    assert valid.all()
    all_scores = score_map[0, peaks[:, 1], peaks[:, 2]]
    assert torch.equal(scores[0].sort().values, all_scores.sort().values[-4:])
    cells = (rows * 14 + cols)[0]
    assert torch.equal(cells, cells.sort().values)


def test_smplx_lbs_matches_the_body_adapter(smplx_body):
    lbs = SmplxLbs(smplx_body)
    generator = torch.Generator().manual_seed(0)
    rotmats = roma.rotvec_to_rotmat(torch.randn(4, 53, 3, generator=generator) * 0.4)
    betas, expression = torch.randn(4, 10, generator=generator), torch.randn(4, 10, generator=generator)
    from hmr.nn.outputs import smplx_params_from_rotmats

    expected = smplx_body(**smplx_params_from_rotmats(rotmats, betas, expression))
    eye = torch.eye(3).expand(4, 2, 3, 3)
    full_pose = torch.cat([rotmats[:, :22], rotmats[:, 52:53], eye, rotmats[:, 22:52]], dim=1)
    vertices, joints = lbs(full_pose, torch.cat([betas, expression], dim=-1))
    assert joints.shape == (4, 127, 3) == expected.joints.shape and lbs.num_joints == 127
    assert (vertices - expected.vertices).abs().max() < 1e-5
    assert (joints - expected.joints).abs().max() < 1e-5
    assert (vertices - lbs(torch.eye(3).expand(4, 55, 3, 3), torch.zeros(4, 20))[0]).abs().max() > 0.05


def test_smplx_lbs_needs_an_smplx_model():
    with pytest.raises(HmrError, match="holds no smplx.SMPLX model"):
        SmplxLbs(torch.nn.Linear(2, 2))
