"""mvmocap: multi-view markerless motion capture.

Conventions used everywhere in the package (see also ARCHITECTURE.md):

- Units: metres, seconds, pixels. World frame right-handed, z up, ground plane z = 0.
- Cameras follow OpenCV: ``x_cam = R @ X_world + t``, ``u = K @ x_cam / z``, distortion
  ``(k1, k2, p1, p2[, k3[, k4, k5, k6]])``; pixel (0, 0) is the centre of the top-left pixel.
- 2D keypoints are ``(..., J, 3)`` arrays of ``x, y, confidence``; a missing detection has
  confidence 0 (its x, y are ignored). 3D keypoints are ``(..., J, 4)``: ``x, y, z, confidence``.
- Arrays are batched over any leading dimensions; shapes are stated in docstrings.
"""

__version__ = "0.1.0"

# The library's front door (mvmocap.api), loaded when first used: ``import mvmocap`` stays light.
_API = ("run", "sync_cameras", "calibrate_intrinsics", "calibrate_extrinsics", "calibrate_people",
        "refine_calibration", "check_calibration", "run_batch", "export_run", "export_angles", "write_replay",
        "write_report", "RunOptions", "BoardSpec")
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from mvmocap import api

        return getattr(api, name)
    raise AttributeError(f"module 'mvmocap' has no attribute {name!r}")
