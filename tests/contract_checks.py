"""The output contract every backend keeps: an image with nobody in it has the same keys and the
same trailing shapes as one with people (README: "P may be 0"), so results concatenate alike."""

from __future__ import annotations

import numpy as np

#: per-image entries of ``ImageResult.stacked()``; every other entry has a leading person axis
PER_IMAGE = {"K", "image_size", "body_model", "shape_names"}


def assert_same_contract(empty, full) -> None:
    """``empty`` and ``full`` are ``ImageResult``s of one backend with 0 and >= 1 persons."""
    assert len(empty) == 0 and len(full) > 0
    got, want = empty.stacked(), full.stacked()
    assert set(got) == set(want), sorted(set(got) ^ set(want))
    assert any(key.startswith("param_") for key in got)
    for key, value in want.items():
        if key in PER_IMAGE:
            assert got[key].shape == value.shape, key
            continue
        assert value.shape[0] == len(full) and got[key].shape == (0, *value.shape[1:]), (
            key,
            got[key].shape,
            value.shape,
        )
        assert got[key].dtype == value.dtype, key
    assert np.concatenate([got["vertices"], want["vertices"]]).shape[0] == len(full)
