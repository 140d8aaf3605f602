"""The ``backend`` fixture: overlay tests run on both rasterizers."""

from __future__ import annotations

import pytest

from hmr.render import raster_egl


def require_egl() -> None:
    """EGL is a declared test dependency: a machine without it fails loudly rather than skipping."""
    reason = raster_egl.unavailable_reason()
    if reason is not None:
        pytest.fail(f"EGL unavailable ({reason}): apt-get install libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri")


@pytest.fixture(params=["egl", "torch"])
def backend(request) -> str:
    """Every overlay test runs on both rasterizers."""
    if request.param == "egl":
        require_egl()
    return request.param


@pytest.fixture
def egl() -> None:
    require_egl()
