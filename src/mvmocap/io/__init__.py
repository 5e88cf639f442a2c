"""Files: 2D keypoints (OpenPose, EasyMocap annots) and 3D keypoints (EasyMocap keypoints3d)."""

from mvmocap.io.errors import DataError
from mvmocap.io.keypoints2d import (
    MultiViewKeypoints,
    list_camera_folders,
    read_keypoints2d,
    write_annots,
    write_openpose,
)
from mvmocap.io.keypoints3d import read_keypoints3d, write_keypoints3d

__all__ = [
    "DataError",
    "MultiViewKeypoints",
    "list_camera_folders",
    "read_keypoints2d",
    "read_keypoints3d",
    "write_annots",
    "write_keypoints3d",
    "write_openpose",
]
