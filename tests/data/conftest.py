"""Fixtures for the dataset-format tests: body models come from ``tests/make_fake_body_models.py``."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def models_dir(fake_models_dir) -> Path:
    return fake_models_dir
