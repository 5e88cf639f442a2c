"""An independent reader for the tests: skin a .glb's mesh at one animation frame from the
file's own nodes, skin, inverse bind matrices, morph targets and animation samplers."""

import numpy as np
import pygltflib as gl

_COMPONENTS = {gl.FLOAT: np.float32, gl.UNSIGNED_SHORT: np.uint16, gl.UNSIGNED_INT: np.uint32,
               gl.UNSIGNED_BYTE: np.uint8}
_WIDTH = {gl.SCALAR: 1, gl.VEC2: 2, gl.VEC3: 3, gl.VEC4: 4, gl.MAT4: 16}


def accessor(gltf: gl.GLTF2, index: int) -> np.ndarray:
    acc = gltf.accessors[index]
    view = gltf.bufferViews[acc.bufferView]
    blob = gltf.binary_blob()
    width = _WIDTH[acc.type]
    start = view.byteOffset + (acc.byteOffset or 0)
    data = np.frombuffer(blob, dtype=_COMPONENTS[acc.componentType], count=acc.count * width, offset=start)
    return data.reshape(acc.count, width).astype(np.float64)


def _quat_matrix(q):
    x, y, z, w = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def skinned_vertices(path, frame: int) -> np.ndarray:
    """(V, 3) vertices of the first skinned mesh at sample ``frame`` of the first animation."""
    gltf = gl.GLTF2().load(str(path))
    trs = {i: {"translation": np.array(n.translation or [0, 0, 0], float),
               "rotation": np.array(n.rotation or [0, 0, 0, 1], float)} for i, n in enumerate(gltf.nodes)}
    morph = None
    anim = gltf.animations[0]
    for ch in anim.channels:
        sampler = anim.samplers[ch.sampler]
        values = accessor(gltf, sampler.output)
        if ch.target.path == "weights":
            count = len(accessor(gltf, sampler.input))
            morph = values.reshape(count, -1)[frame]
        else:
            trs[ch.target.node][ch.target.path] = values[frame]
    parent = {c: i for i, n in enumerate(gltf.nodes) for c in (n.children or [])}
    world = {}

    def global_matrix(i):
        if i not in world:
            m = np.eye(4)
            m[:3, :3] = _quat_matrix(trs[i]["rotation"])
            m[:3, 3] = trs[i]["translation"]
            world[i] = global_matrix(parent[i]) @ m if i in parent else m
        return world[i]

    mesh_node = next(n for n in gltf.nodes if n.mesh is not None and n.skin is not None)
    skin = gltf.skins[mesh_node.skin]
    ibm = accessor(gltf, skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
    joint_matrices = np.stack([global_matrix(j) @ ibm[k] for k, j in enumerate(skin.joints)])
    prim = gltf.meshes[mesh_node.mesh].primitives[0]
    positions = accessor(gltf, prim.attributes.POSITION)
    if prim.targets and morph is not None:
        for w, target in zip(morph, prim.targets, strict=True):
            positions = positions + w * accessor(gltf, target["POSITION"])
    blended = np.zeros((len(positions), 4, 4))
    k = 0
    while getattr(prim.attributes, f"JOINTS_{k}", None) is not None:
        joints = accessor(gltf, getattr(prim.attributes, f"JOINTS_{k}")).astype(int)
        weights = accessor(gltf, getattr(prim.attributes, f"WEIGHTS_{k}"))
        blended += np.einsum("vi,vikl->vkl", weights, joint_matrices[joints])
        k += 1
    return (blended[:, :3, :3] @ positions[..., None])[..., 0] + blended[:, :3, 3]
