"""Appearance: skin everywhere clothes are not, faces with dark eyes, brows and lips, varied clothing."""

from __future__ import annotations

import numpy as np
import pytest

from hmr.body.anny_body import AnnyBody
from hmr.synth.appearance import SKIN_RAMP, AppearanceSampler
from hmr.synth.parts import PARTS, vertex_parts

ADULT = {"age": 0.7}


@pytest.fixture(scope="module")
def body() -> AnnyBody:
    return AnnyBody()


@pytest.fixture(scope="module")
def looks(body) -> AppearanceSampler:
    return AppearanceSampler(body)


@pytest.fixture(scope="module")
def parts(body) -> np.ndarray:
    return vertex_parts(body)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114])


def test_colours_are_per_vertex_srgb_and_reproducible(body, looks):
    a = looks.sample(np.random.default_rng(4), ADULT)
    assert a.shape == (body.num_vertices, 3) and a.dtype == np.float32
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert np.array_equal(a, looks.sample(np.random.default_rng(4), ADULT))
    assert not np.array_equal(a, looks.sample(np.random.default_rng(5), ADULT))


def test_the_face_has_dark_eyes_and_brows_and_red_lips_on_skin(looks, parts):
    hands = (parts == PARTS.index("hand_l")) | (parts == PARTS.index("hand_r"))
    for seed in range(12):
        colours = looks.sample(np.random.default_rng(seed), ADULT)
        skin = np.median(colours[hands], axis=0)  # hands are never clothed
        assert np.abs(colours[hands] - skin).max() < 0.1
        sclera = colours[looks.eyeball & ~looks.iris]
        assert _luma(colours[looks.iris]).max() < 0.5 * _luma(sclera).min()
        assert _luma(colours[looks.iris]).max() < max(0.6 * _luma(skin), 0.2)
        assert _luma(colours[looks.brows]).max() < 0.6 * _luma(skin) + 1e-6
        lips = colours[looks.lips].mean(0)
        assert lips[0] / lips[1] > skin[0] / skin[1] * 1.2  # redder than the skin around them
    assert looks.iris.sum() > 10 and looks.brows.sum() > 10 and looks.lips.sum() > 10


def test_tops_cover_the_chest_and_sleeves_and_hems_vary(looks, parts):
    hands = (parts == PARTS.index("hand_l")) | (parts == PARTS.index("hand_r"))
    forearm = parts == PARTS.index("forearm_l")
    shin = parts == PARTS.index("shin_l")
    bare_forearms = bare_shins = 0
    tones = []
    for seed in range(40):
        colours = looks.sample(np.random.default_rng(seed), ADULT)
        skin = np.median(colours[hands], axis=0)
        tones.append(_luma(skin))
        assert np.median(np.abs(colours[looks.chest_print] - skin).max(1)) > 1e-3  # a top is always worn
        bare_forearms += np.median(np.abs(colours[forearm] - skin).max(1)) < 0.05
        bare_shins += np.median(np.abs(colours[shin] - skin).max(1)) < 0.05
    assert 5 <= bare_forearms <= 35 and 3 <= bare_shins <= 30
    # skin tones span the ramp: light and deep skin both drawn
    assert max(tones) > _luma(SKIN_RAMP[1]) and min(tones) < _luma(SKIN_RAMP[-2])


def test_the_elderly_are_more_often_grey(looks):
    def grey_share(age: float) -> float:
        count = 0
        for seed in range(60):
            colours = looks.sample(np.random.default_rng(seed), {"age": age})
            hair = colours[looks.hair["long"] & looks.hair["short"]]
            rgb = np.median(hair, axis=0)
            count += bool(np.ptp(rgb) < 0.05 and rgb.mean() > 0.3)
        return count / 60

    assert grey_share(0.95) > grey_share(0.7) + 0.3
