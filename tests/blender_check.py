"""Run inside Blender: ``blender -b --python blender_check.py -- KIND FILE FRAME OUT.json FPS``.

Imports a ``.bvh`` or ``.glb`` (KIND ``bvh`` / ``glb``) with Blender's own importers and writes the
armature's bone heads, and the evaluated mesh's vertices, at FRAME in Blender's world (z up) to
OUT.json. Two patches for Blender 3.4 on Python 3.11 / NumPy 1.24 (Debian bookworm): its BVH
importer opens files with mode 'rU', and its glTF add-on uses ``numpy.bool``.
"""

import builtins
import json
import sys

import numpy

_open = builtins.open


def _open_without_u(file, mode="r", *args, **kwargs):
    return _open(file, mode.replace("U", ""), *args, **kwargs)


builtins.open = _open_without_u
if not hasattr(numpy, "bool"):
    numpy.bool = bool

import bpy  # noqa: E402  (after the patches)

kind, path, frame, out, fps = sys.argv[sys.argv.index("--") + 1:]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.context.scene.render.fps = int(fps)  # the glTF importer keys its animation at the scene's rate
if kind == "bvh":
    bpy.ops.import_anim.bvh(filepath=path, update_scene_fps=True, update_scene_duration=True)
else:
    bpy.ops.import_scene.gltf(filepath=path)
armature = next(o for o in bpy.data.objects if o.type == "ARMATURE")
bpy.context.scene.frame_set(int(frame))
result = {"heads": {b.name: list(armature.matrix_world @ b.head) for b in armature.pose.bones}}
meshes = [o for o in bpy.data.objects if o.type == "MESH"]
if meshes:
    evaluated = meshes[0].evaluated_get(bpy.context.evaluated_depsgraph_get())
    result["vertices"] = [list(evaluated.matrix_world @ v.co) for v in evaluated.to_mesh().vertices]
    keys = meshes[0].data.shape_keys
    result["shape_keys"] = len(keys.key_blocks) if keys else 0
_open(out, "w").write(json.dumps(result))
