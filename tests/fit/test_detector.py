"""Tiling and seed merging of the multi-person detector (no model run here)."""

import math

import numpy as np

from hmr.fit.detector import PersonSeed, image_tiles, merge_seeds, seed_from_points


def test_tiles_cover_the_image_at_two_scales():
    width, height = 544, 960
    tiles = image_tiles(width, height, levels=2)
    assert tiles[0] == (0, 0, 0)  # the whole image first
    covered = np.zeros((height, width), bool)
    sides = set()
    for x0, y0, side in tiles[1:]:
        assert 0 <= x0 and x0 + side <= width and 0 <= y0 and y0 + side <= height
        covered[y0 : y0 + side, x0 : x0 + side] = True
        sides.add(side)
    assert covered.all()
    assert sides == {544, 272}


def test_seed_angle_is_zero_upright_and_follows_the_body():
    upright = seed_from_points(np.array([100.0, 200.0]), np.array([100.0, 100.0]), 0.9)
    assert abs(upright.angle_rad) < 1e-9 and abs(upright.radius_px - 100) < 1e-9
    lying = seed_from_points(np.array([100.0, 200.0]), np.array([200.0, 200.0]), 0.9)  # head to the right
    assert abs(abs(lying.angle_rad) - math.pi / 2) < 1e-9


def test_merge_keeps_separate_people_and_drops_duplicates():
    a = PersonSeed(0.9, np.array([100.0, 300.0]), 150.0, 0.0)
    a_again = PersonSeed(0.6, np.array([120.0, 310.0]), 140.0, 0.0)  # another tile, same person
    b = PersonSeed(0.7, np.array([400.0, 300.0]), 150.0, 0.0)  # a neighbour
    small_in_front = PersonSeed(0.5, np.array([110.0, 320.0]), 40.0, 0.0)  # much smaller: a child in front
    kept = merge_seeds([a_again, b, a, small_in_front])
    assert [s.score for s in kept] == [0.9, 0.7, 0.5]
