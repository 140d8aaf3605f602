"""FitPipeline's contract: the result schema, bad input, and what importing costs."""

import subprocess
import sys

import numpy as np
import pytest
from contract_checks import assert_same_contract

from hmr.errors import HmrError

from .conftest import load_photo

pytestmark = pytest.mark.slow  # BlazePose detection and fits on photos


def test_result_fills_every_person_field(pipeline, photo_results, tmp_path):
    image, K, result, _ = photo_results["lab_two_people.jpg"]
    body = pipeline.body
    assert result.body_model == "anny" and result.image_size == (image.shape[1], image.shape[0])
    assert result.shape_names == ["gender", "age", "muscle", "weight", "height", "proportions"]
    assert result.faces.shape[1] == 3
    for person in result.persons:
        assert 0 < person.score <= 1
        assert person.vertices.shape == (body.num_vertices, 3)
        assert person.joints_3d.shape == (len(body.joint_names), 3)
        assert person.joints_2d.shape == (len(body.joint_names), 2)
        assert person.rotvec.shape == (104, 3) and person.betas.shape == (6,) and person.expression.shape == (0,)
        np.testing.assert_allclose(person.transl, person.joints_3d[body.head_joint], atol=1e-6)
        np.testing.assert_allclose(person.transl_pelvis, person.joints_3d[body.pelvis_joint], atol=1e-6)
        head_px = K @ person.transl
        np.testing.assert_allclose(person.loc, head_px[:2] / head_px[2], atol=1e-3)
        assert set(person.params) == set(body.param_specs)
        for array in (person.vertices, person.joints_3d, person.joints_2d, person.rotvec, person.betas):
            assert np.isfinite(array).all()
    # the parameters re-pose the body exactly (up to the translation the result carries)
    import torch

    person = result.persons[0]
    with torch.no_grad():
        out = body(**{k: torch.as_tensor(v)[None] for k, v in person.params.items()})
    shift = person.joints_3d - out.joints[0].numpy()
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), atol=1e-4)
    saved = np.load(result.to_npz(tmp_path / "out.npz"), allow_pickle=False)
    assert saved["vertices"].shape == (2, body.num_vertices, 3)


def test_nobody_gives_an_empty_result_with_a_message(pipeline, photo_results):
    image = np.full((240, 320, 3), 127, np.uint8)
    result = pipeline.predict(image, np.array([[300.0, 0, 160], [0, 300.0, 120], [0, 0, 1]]))
    assert len(result) == 0 and "no person found" in result.message
    # the open default keeps the contract: the keys and trailing shapes of a result with people
    assert_same_contract(result, photo_results["lab_two_people.jpg"][2])
    assert result.stacked()["vertices"].shape == (0, pipeline.body.num_vertices, 3)


def test_tiny_people_are_skipped_not_broken(pipeline):
    image, _ = load_photo("lab_three_people.jpg")
    tiny = np.ascontiguousarray(image[::12, ::12])  # people ~30 px tall
    K = np.array([[60.0, 0, tiny.shape[1] / 2], [0, 60.0, tiny.shape[0] / 2], [0, 0, 1]])
    result = pipeline.predict(tiny, K)
    for person in result.persons:
        assert np.isfinite(person.vertices).all() and np.isfinite(person.joints_2d).all()


@pytest.mark.parametrize("name, rows", [("outdoor_jump.jpg", 190), ("lab_two_people.jpg", 480)])
def test_truncated_people_are_fitted_with_their_visible_part(pipeline, name, rows):
    image, K = load_photo(name)
    top = np.ascontiguousarray(image[:rows])  # cut at the thighs
    result, people = pipeline.predict_with_keypoints(top, K)
    assert len(result) >= 1
    for person, seen in zip(result.persons, people):
        assert np.isfinite(person.vertices).all() and np.isfinite(person.transl).all()
        inside = (seen.keypoints_px[:, 1] < rows) & (seen.confidence >= 0.5)
        assert inside.sum() >= 8  # nobody made of landmarks outside the picture
    assert (pipeline.reprojection_errors(result, people) <= 0.03).all()


def test_bad_input_raises_a_user_error(pipeline):
    with pytest.raises(HmrError):
        pipeline.predict(np.zeros((10, 10), np.uint8), np.eye(3))
    with pytest.raises(HmrError):
        pipeline.predict(np.zeros((10, 10, 3), np.uint8), np.zeros((3, 3)))
    with pytest.raises(HmrError):
        type(pipeline)("anny", device="cuda")


def test_importing_hmr_fit_does_not_import_mediapipe():
    code = "import sys, hmr.fit; assert 'mediapipe' not in sys.modules, 'mediapipe imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_mediapipe_says_how_to_install():
    code = (
        "import sys; sys.modules['mediapipe'] = None\n"
        "from hmr.errors import HmrError\nfrom hmr.fit.keypoints import KeypointDetector\n"
        "try:\n    KeypointDetector()\nexcept HmrError as e:\n    assert 'pip install' in str(e), e\n"
        "else:\n    raise SystemExit('no error')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
