"""Constants and comparisons shared by the export tests (a plain module: conftest files are not importable
by name once several test folders have one)."""

import numpy as np

#: the fixture's threshold: 3 persons in its image (README of shared/fixtures/multihmr)
FIXTURE_THRESH = 0.7044
#: a threshold for the 224 px variant with a clear gap (> 2e-3) to every peak of the test images
VARIANT_THRESH = 0.699
#: tolerances of the issue (1e-4 on parameters and meshes) and of the fixture README for pixels
TOLERANCES = {"loc": 1e-2, "joints_2d": 5e-2}
DEFAULT_TOL = 1e-4


def assert_results_match(onnx_results, torch_results):
    """Same persons, every output array within tolerance, same faces, messages and body model."""
    assert [len(r) for r in onnx_results] == [len(r) for r in torch_results]
    for got, want in zip(onnx_results, torch_results):
        got_arrays, want_arrays = got.stacked(), want.stacked()
        assert sorted(got_arrays) == sorted(want_arrays)
        assert got.message == want.message and got.body_model == want.body_model
        np.testing.assert_array_equal(got.faces, want.faces)
        for key, expected in want_arrays.items():
            if expected.dtype.kind != "f":
                np.testing.assert_array_equal(got_arrays[key], expected, err_msg=key)
                continue
            assert got_arrays[key].shape == expected.shape, key
            if expected.size:
                err = np.abs(got_arrays[key] - expected).max()
                assert err < TOLERANCES.get(key, DEFAULT_TOL), (key, err)
