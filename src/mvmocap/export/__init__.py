"""Results into the files other tools read: BVH, skinned glTF, AMASS npz, TRC and C3D.

Each writer's module docstring states its conventions (axes, units, Euler order); every file is
written atomically. :func:`export_run` reads a finished run's output folder.
"""

from mvmocap.export.api import FORMATS, export_run
from mvmocap.export.axes import ExportFrame
from mvmocap.export.bvh import bvh_joint_positions, read_bvh, write_bvh
from mvmocap.export.gltf import write_glb
from mvmocap.export.markers import read_trc, write_c3d, write_trc

__all__ = ["FORMATS", "ExportFrame", "export_run", "write_bvh", "read_bvh", "bvh_joint_positions", "write_glb",
           "write_trc", "read_trc", "write_c3d"]
