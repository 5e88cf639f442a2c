"""Shared fixtures: small synthetic rigs and captures built in memory (no downloaded files)."""

from __future__ import annotations

import numpy as np
import pytest

from mvmocap.synthetic import CaptureSpec, make_capture, ring_rig


@pytest.fixture
def rig():
    """Four distorted cameras on a 3.5 m ring, named cam1..cam4."""
    return ring_rig(4, seed=3)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def small_capture():
    """120 frames, 4 cameras, default corruption (2 px noise, 10% outliers, 5% dropouts)."""
    return make_capture(CaptureSpec(frames=120, seed=7))
