"""Files: 2D keypoints (OpenPose, EasyMocap annots), 3D keypoints and fit results (EasyMocap
layouts, standard SMPL ``.npz``)."""

from mvmocap.io.errors import DataError
from mvmocap.io.frames import FrameSource, check_dataset_folder, frame_ranges, has_camera_input, list_video_cameras
from mvmocap.io.keypoints2d import (
    MultiViewKeypoints,
    keypoint_frame_rate,
    list_camera_folders,
    read_keypoints2d,
    write_annots,
    write_hand_annots,
    write_openpose,
)
from mvmocap.io.keypoints3d import read_keypoints3d, write_keypoints3d, write_people_keypoints3d
from mvmocap.io.results import read_smpl_jsons, write_params_npz, write_people_smpl_jsons, write_smpl_jsons

__all__ = [
    "DataError",
    "FrameSource",
    "frame_ranges",
    "MultiViewKeypoints",
    "keypoint_frame_rate",
    "list_camera_folders",
    "check_dataset_folder",
    "has_camera_input",
    "list_video_cameras",
    "read_keypoints2d",
    "read_keypoints3d",
    "read_smpl_jsons",
    "write_annots",
    "write_hand_annots",
    "write_keypoints3d",
    "write_openpose",
    "write_params_npz",
    "write_people_keypoints3d",
    "write_people_smpl_jsons",
    "write_smpl_jsons",
]
