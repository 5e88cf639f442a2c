"""Skinned, animated glTF 2.0 binary (``.glb``) of a fitted body, written with pygltflib.

Conventions (glTF's own: y up, metres, right-handed; the world is turned by
:class:`~mvmocap.export.axes.ExportFrame` ``up="y"``):

- one node per joint of the model (node i = joint i, named as the model names it), its rest
  ``translation`` the offset from its parent for the fitted shape; the bind pose is axis-aligned
  at the rest joints, so ``inverseBindMatrices`` are translations by ``-rest_j``;
- the mesh (its shape baked in: the rest vertices of the fitted shape, normals, the model's own
  skinning weights, every non-zero influence in as many ``JOINTS_n``/``WEIGHTS_n`` sets of four
  as the model needs: one to three for SMPL, three for Anny's nine);
- SMPL-family pose correctives as morph targets, their weights animated. A corrective's weight
  (an ``R - I`` entry: 207 for SMPL) changes sign, and importers clamp morph weights to a slider
  range (Blender 3.4 cuts negative values), so each corrective travels as up to two targets, its
  positive and its negative part, both weighted in [0, 1] (a part this sequence never uses is
  left out): the sum is exact and the bind mesh is the model's own rest mesh. ``correctives=False``
  drops them (a lighter file: plain linear blend skinning, off by the correctives' size, which
  :meth:`SkinnedSequence.vertices` with ``correctives=False`` measures for a given fit);
- one animation ``mvmocap``: every joint's local rotation, the root's translation, the morph
  weights; LINEAR sampling at the fit's frame times (``frame / fps`` from the first frame).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygltflib as gl

from mvmocap.bodymodels.skinned import SkinnedSequence
from mvmocap.export.axes import ExportFrame
from mvmocap.geometry import matrix_to_quaternion
from mvmocap.utils import atomic_path

__all__ = ["write_glb"]

_FLOAT, _USHORT, _UINT = gl.FLOAT, gl.UNSIGNED_SHORT, gl.UNSIGNED_INT
_TYPES = {1: gl.SCALAR, 3: gl.VEC3, 4: gl.VEC4, 16: gl.MAT4}
_SKIN_COLOUR = [0.80, 0.62, 0.52, 1.0]


class _Packer:
    """Accumulates arrays into one binary buffer; each becomes a buffer view and an accessor."""

    def __init__(self, gltf: gl.GLTF2):
        self.gltf = gltf
        self.blob = bytearray()

    def add(self, array: np.ndarray, *, target: int | None = None, bounds: bool = False) -> int:
        array = np.ascontiguousarray(array)
        dtype = {np.dtype(np.float32): _FLOAT, np.dtype(np.uint16): _USHORT, np.dtype(np.uint32): _UINT}[array.dtype]
        width = int(np.prod(array.shape[1:])) if array.ndim > 1 else 1
        self.blob.extend(b"\0" * (-len(self.blob) % 4))
        view = gl.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=array.nbytes, target=target)
        self.blob.extend(array.tobytes())
        self.gltf.bufferViews.append(view)
        flat = array.reshape(len(array), width)
        accessor = gl.Accessor(bufferView=len(self.gltf.bufferViews) - 1, componentType=dtype, count=len(array),
                               type=_TYPES[width],
                               min=flat.min(0).tolist() if bounds else None,
                               max=flat.max(0).tolist() if bounds else None)
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1


def _nonnegative_targets(weights: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F, P) signed weights of (P, V, 3) directions -> (F, Q) weights in [0, 1] of (Q, V, 3)
    targets with the same weighted sum: each direction's positive and negative parts, scaled."""
    parts_w, parts_d = [], []
    for sign in (1.0, -1.0):
        part = np.maximum(sign * weights, 0.0)  # (F, P)
        scale = np.maximum(part.max(0), 1.0)
        used = part.max(0) > 0
        parts_w.append(part[:, used] / scale[used])
        parts_d.append(sign * scale[used, None, None] * directions[used])
    return np.concatenate(parts_w, 1), np.concatenate(parts_d, 0)


def _normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    n = np.zeros_like(vertices)
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    face_normals = np.cross(b - a, c - a)  # area-weighted
    for k in range(3):
        np.add.at(n, faces[:, k], face_normals)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return np.where(length > 0, n / np.maximum(length, 1e-12), [0.0, 1.0, 0.0])


def write_glb(path: str | Path, seq: SkinnedSequence, fps: float, *, correctives: bool = True) -> Path:
    """Write ``seq`` as a skinned, animated ``.glb`` (atomically); see the module docstring."""
    frame = ExportFrame("y", "m")
    J = len(seq.joint_names)
    parents = seq.parents
    rest = frame.points(seq.rest_joints)
    local_rest = rest.copy()
    local_rest[1:] = rest[1:] - rest[parents[1:]]
    gltf = gl.GLTF2(asset=gl.Asset(version="2.0", generator="mvmocap"), scene=0)
    pack = _Packer(gltf)

    for j in range(J):
        children = [int(c) for c in np.flatnonzero(parents == j)]
        gltf.nodes.append(gl.Node(name=seq.joint_names[j], translation=local_rest[j].tolist(),
                                  children=children or None))
    inverse_bind = np.tile(np.eye(4), (J, 1, 1))
    inverse_bind[:, :3, 3] = -rest
    column_major = np.transpose(inverse_bind, (0, 2, 1)).reshape(J, 16)
    skin = gl.Skin(name=seq.name, joints=list(range(J)), skeleton=0,
                   inverseBindMatrices=pack.add(column_major.astype(np.float32)))
    gltf.skins.append(skin)

    vertices = frame.points(seq.rest_vertices)
    joints, weights = seq.influences(multiple=4)
    joints, weights = joints.astype(np.uint16), weights.astype(np.float32)
    attributes = gl.Attributes(POSITION=pack.add(vertices.astype(np.float32), target=gl.ARRAY_BUFFER, bounds=True),
                               NORMAL=pack.add(_normals(vertices, seq.faces).astype(np.float32),
                                               target=gl.ARRAY_BUFFER))
    for k in range(joints.shape[1] // 4):
        setattr(attributes, f"JOINTS_{k}", pack.add(joints[:, 4 * k:4 * k + 4], target=gl.ARRAY_BUFFER))
        setattr(attributes, f"WEIGHTS_{k}", pack.add(weights[:, 4 * k:4 * k + 4], target=gl.ARRAY_BUFFER))
    use_targets = correctives and seq.corrective_directions is not None
    morph_weights, morph_targets = (_nonnegative_targets(seq.corrective_weights, seq.corrective_directions)
                                    if use_targets else (None, None))
    targets = [{"POSITION": pack.add(frame.points(d).astype(np.float32), target=gl.ARRAY_BUFFER, bounds=True)}
               for d in morph_targets] if use_targets else None
    primitive = gl.Primitive(attributes=attributes, targets=targets, material=0,
                             indices=pack.add(seq.faces.reshape(-1).astype(np.uint32), target=gl.ELEMENT_ARRAY_BUFFER))
    gltf.meshes.append(gl.Mesh(name=seq.name, primitives=[primitive],
                               weights=[0.0] * len(targets) if use_targets else None))
    gltf.materials.append(gl.Material(name="skin", doubleSided=True, pbrMetallicRoughness=gl.PbrMetallicRoughness(
        baseColorFactor=_SKIN_COLOUR, metallicFactor=0.0, roughnessFactor=0.8)))
    gltf.nodes.append(gl.Node(name=f"{seq.name} mesh", mesh=0, skin=0))
    gltf.scenes.append(gl.Scene(nodes=[0, J]))

    F = len(seq.transforms)
    times = pack.add((np.arange(F) / fps).astype(np.float32)[:, None], bounds=True)
    local = frame.rotations(seq.local_rotations())
    animation = gl.Animation(name="mvmocap")

    def channel(node: int, path: str, values: np.ndarray) -> None:
        animation.samplers.append(gl.AnimationSampler(input=times, output=pack.add(values.astype(np.float32)),
                                                      interpolation=gl.ANIM_LINEAR))
        animation.channels.append(gl.AnimationChannel(sampler=len(animation.samplers) - 1,
                                                      target=gl.AnimationChannelTarget(node=node, path=path)))

    quaternions = matrix_to_quaternion(local)  # (F, J, 4) x y z w
    for j in range(J):
        channel(j, "rotation", quaternions[:, j])
    channel(0, "translation", frame.points(seq.joints[:, 0]))
    if use_targets:
        channel(J, "weights", morph_weights.reshape(-1, 1))
    gltf.animations.append(animation)

    gltf.buffers.append(gl.Buffer(byteLength=len(pack.blob)))
    gltf.set_binary_blob(bytes(pack.blob))
    with atomic_path(path, suffix=".glb") as tmp:
        gltf.save_binary(str(tmp))
    return Path(path)
