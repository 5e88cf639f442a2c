"""CPU rendering: shaded meshes over camera images (with lens distortion), a ground view,
skeleton overlays, tiled views and H.264 videos. No GPU, display or system GL needed."""

from mvmocap.render.ground import CheckerFloor, checkerboard, follow_cameras
from mvmocap.render.mesh import PERSON_COLOURS, Rendering, Scene, composite, shade, vertex_normals
from mvmocap.render.overlay import draw_keypoints3d, draw_skeleton, put_label, tile_columns, tile_layout, tile_views
from mvmocap.render.settings import RenderSettings
from mvmocap.render.video import VideoWriter

__all__ = [
    "PERSON_COLOURS",
    "RenderSettings",
    "Rendering",
    "Scene",
    "VideoWriter",
    "CheckerFloor",
    "checkerboard",
    "composite",
    "draw_keypoints3d",
    "draw_skeleton",
    "follow_cameras",
    "put_label",
    "shade",
    "tile_columns",
    "tile_layout",
    "tile_views",
    "vertex_normals",
]
