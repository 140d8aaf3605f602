from __future__ import annotations

import numpy as np

from hmr.render import person_colors
from hmr.render.palette import PALETTE


def test_colours_are_stable_per_id_and_wrap():
    assert np.array_equal(person_colors([3, 3 + len(PALETTE), 3 - len(PALETTE)]), PALETTE[[3, 3, 3]])
    assert np.array_equal(person_colors([-1]), PALETTE[[-1]])
    assert person_colors([]).shape == (0, 3)


def test_palette_colours_are_far_apart_and_not_too_dark():
    diffs = np.abs(PALETTE[:, None] - PALETTE[None]).sum(axis=2)
    assert diffs[~np.eye(len(PALETTE), dtype=bool)].min() > 0.25
    # Lambert shading darkens by up to ~3x: a dark base colour would vanish on its shadow side.
    assert PALETTE.max(axis=1).min() >= 0.6
    assert PALETTE.dtype == np.float32 and PALETTE.min() >= 0 and PALETTE.max() <= 1
