"""Refinement: start from a (network) prediction, improve its 2D alignment, keep its depth."""

import copy

import numpy as np
import roma
import torch

from hmr.fit.pipeline import FitPipeline

from .conftest import load_photo


def _perturbed(pipeline: FitPipeline, result, seed: int):
    """The result as a weaker network might give it: pose off by noise, body shifted sideways."""
    gen = torch.Generator().manual_seed(seed)
    noisy = copy.deepcopy(result)
    persons = []
    for person in noisy.persons:
        params = {k: torch.as_tensor(v)[None] for k, v in person.params.items()}
        params["body_pose"] = params["body_pose"] + 0.15 * torch.randn(params["body_pose"].shape, generator=gen)
        params["global_orient"] = roma.rotvec_composition([params["global_orient"], torch.tensor([[0.0, 0.15, 0.0]])])
        with torch.no_grad():
            out = pipeline.body(**params)
        shift = person.joints_3d[pipeline.body.pelvis_joint] - out.joints[0, pipeline.body.pelvis_joint].numpy()
        shift = shift + np.array([0.05, 0.0, 0.0]) * shift[2] / 4.0
        joints = out.joints[0].numpy() + shift
        uvw = joints @ noisy.K.T
        person.params = {k: v[0].numpy() for k, v in params.items()}
        person.vertices = out.vertices[0].numpy() + shift
        person.joints_3d = joints
        person.joints_2d = uvw[:, :2] / uvw[:, 2:]
        persons.append(person)
    noisy.persons = persons
    return noisy


def test_refine_improves_alignment_and_keeps_depth(pipeline, photo_results):
    image, K, result, people = photo_results["lab_two_people.jpg"]
    start = _perturbed(pipeline, result, seed=0)
    refined = pipeline.refine(image, K, start)
    assert len(refined) == len(start) and refined.message == ""
    before = pipeline.reprojection_errors(start, people)
    after = pipeline.reprojection_errors(refined, people)
    assert (after < before).all() and (after <= 0.02).all()
    for old, new in zip(start.persons, refined.persons):
        assert abs(new.transl_pelvis[2] / old.transl_pelvis[2] - 1) < 0.1
        np.testing.assert_allclose(new.betas, old.betas, atol=0.15)


def test_refine_leaves_people_it_cannot_see(pipeline):
    image, K = load_photo("outdoor_jump.jpg")
    result = pipeline.predict(image, K)
    ghost = copy.deepcopy(result.persons[0])
    ghost.joints_2d = ghost.joints_2d + np.array([400.0, 0.0])  # nobody there in the image
    result.persons.append(ghost)
    refined = pipeline.refine(image, K, result)
    assert len(refined) == 2
    np.testing.assert_array_equal(refined.persons[1].joints_2d, ghost.joints_2d)
