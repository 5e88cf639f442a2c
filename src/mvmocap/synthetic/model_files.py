"""Human-like stand-ins for SMPL-family model files, in the official file layouts.

Tests and benchmarks must not need the licensed files, so this module builds well-formed model
arrays with the real sizes (SMPL 6890 vertices / 24 joints, SMPL-H 6890 / 52, SMPL-X 10475 / 55,
MANO 778 / 16): a skeleton of human proportions (y up, facing +z, T-pose, like SMPL's template),
a capsule mesh around every bone with proper triangles, smooth skinning weights, a joint
regressor over the vertices around each joint, shape directions that change size and limb
lengths, small pose correctives, and the published landmark vertices (nose, eyes, ears, toes,
heels, fingertips) placed where they belong. It writes them as chumpy-style Python-2-era
pickles (without chumpy), plain pickles or ``.npz``.
"""

from __future__ import annotations

import pickle
import sys
import types
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from mvmocap.bodymodels.joint_names import joint_names_for
from mvmocap.bodymodels.regressors import _HEAD_FEET, _TIPS

__all__ = ["make_model_arrays", "mirror_hand_arrays", "write_model_file", "MODEL_SIZES"]

MODEL_SIZES = {"smpl": (6890, 24), "smplh": (6890, 52), "smplx": (10475, 55), "mano": (778, 16)}

# Rest offsets from the parent joint, metres; SMPL axes (x = subject's left, y up, z forward).
_BODY = {
    "pelvis": (None, (0.0, 0.0, 0.0)), "left_hip": ("pelvis", (0.07, -0.09, 0.0)),
    "right_hip": ("pelvis", (-0.07, -0.09, 0.0)), "spine1": ("pelvis", (0.0, 0.11, -0.01)),
    "left_knee": ("left_hip", (0.01, -0.38, 0.0)), "right_knee": ("right_hip", (-0.01, -0.38, 0.0)),
    "spine2": ("spine1", (0.0, 0.13, 0.0)), "left_ankle": ("left_knee", (0.0, -0.40, -0.02)),
    "right_ankle": ("right_knee", (0.0, -0.40, -0.02)), "spine3": ("spine2", (0.0, 0.05, 0.01)),
    "left_foot": ("left_ankle", (0.0, -0.05, 0.12)), "right_foot": ("right_ankle", (0.0, -0.05, 0.12)),
    "neck": ("spine3", (0.0, 0.21, -0.02)), "left_collar": ("spine3", (0.07, 0.11, 0.0)),
    "right_collar": ("spine3", (-0.07, 0.11, 0.0)), "head": ("neck", (0.0, 0.09, 0.04)),
    "left_shoulder": ("left_collar", (0.11, 0.03, 0.0)), "right_shoulder": ("right_collar", (-0.11, 0.03, 0.0)),
    "left_elbow": ("left_shoulder", (0.26, 0.0, 0.0)), "right_elbow": ("right_shoulder", (-0.26, 0.0, 0.0)),
    "left_wrist": ("left_elbow", (0.25, 0.0, 0.0)), "right_wrist": ("right_elbow", (-0.25, 0.0, 0.0)),
    "left_hand": ("left_wrist", (0.08, 0.0, 0.0)), "right_hand": ("right_wrist", (-0.08, 0.0, 0.0)),
    "jaw": ("head", (0.0, -0.03, 0.05)), "left_eye_smplhf": ("head", (0.03, 0.05, 0.08)),
    "right_eye_smplhf": ("head", (-0.03, 0.05, 0.08)),
}
# Finger bases relative to the wrist (for a left hand along +x), then 3 cm / 2.5 cm phalanges.
_FINGER_BASE = {"index": (0.09, 0.0, 0.025), "middle": (0.095, 0.0, 0.0), "ring": (0.09, 0.0, -0.02),
                "pinky": (0.08, 0.0, -0.038), "thumb": (0.025, -0.01, 0.03)}
_RADIUS = {"pelvis": 0.13, "spine1": 0.13, "spine2": 0.13, "spine3": 0.12, "neck": 0.05, "head": 0.09,
           "collar": 0.05, "hip": 0.08, "knee": 0.055, "ankle": 0.04, "foot": 0.03, "shoulder": 0.05,
           "elbow": 0.04, "wrist": 0.03, "hand": 0.03, "jaw": 0.03, "eye": 0.01}


def _skeleton(kind: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Joint names, parents (J,), rest positions (J, 3)."""
    _, names = joint_names_for(MODEL_SIZES[kind][1])
    table: dict[str, tuple[str | None, tuple[float, float, float]]] = {}
    if kind == "mano":  # a right hand at the origin, fingers along -x
        table["wrist"] = (None, (0.0, 0.0, 0.0))
        sides = [("", -1.0, "wrist")]
    else:
        table.update({n: _BODY[n] for n in names if n in _BODY})
        sides = [("left_", 1.0, "left_wrist"), ("right_", -1.0, "right_wrist")] if kind != "smpl" else []
    for prefix, sign, wrist in sides:
        for finger, base in _FINGER_BASE.items():
            step = 0.03 if finger != "thumb" else 0.028
            direction = np.array([1.0, 0.0, 0.0]) if finger != "thumb" else np.array([0.6, -0.2, 0.78])
            table[f"{prefix}{finger}1"] = (wrist, (sign * base[0], base[1], base[2]))
            for k in (2, 3):
                d = direction * step
                table[f"{prefix}{finger}{k}"] = (f"{prefix}{finger}{k - 1}", (sign * d[0], d[1], d[2]))
    parents = np.array([-1 if table[n][0] is None else names.index(table[n][0]) for n in names])
    pos = np.zeros((len(names), 3))
    for j, n in enumerate(names):
        pos[j] = (pos[parents[j]] if parents[j] >= 0 else 0.0) + np.array(table[n][1])
    return names, parents, pos


def _radius(name: str) -> float:
    for key, r in _RADIUS.items():
        if key in name:
            return r
    return 0.009  # finger segments


def _segments(names, parents, pos) -> list[tuple[int, np.ndarray, np.ndarray, float]]:
    """(joint, start, end, radius) of every bone; leaves extend in their parent's direction."""
    segs = []
    for j, name in enumerate(names):
        children = [c for c in range(len(names)) if parents[c] == j]
        if name in ("pelvis", "spine3") or "collar" in name:
            ends = [pos[c] for c in children]
            end = np.mean(ends, 0) if name != "spine3" else pos[names.index("neck")]
        elif children:
            end = pos[children[0]]
        else:
            p = parents[j]
            direction = pos[j] - pos[p] if p >= 0 else np.array([0.0, 0.1, 0.0])
            length = {"head": 0.22, "jaw": 0.05}.get(name, 0.02 if "eye" in name else np.linalg.norm(direction))
            direction = np.array([0.0, 1.0, 0.0]) if name == "head" else direction
            end = pos[j] + direction / max(np.linalg.norm(direction), 1e-9) * length
        segs.append((j, pos[j], end, _radius(name)))
    return segs


def _tube(start, end, radius, rings, around=10):
    """Vertices (rings * around, 3) and triangles of an open tube from start to end."""
    axis = end - start
    length = max(np.linalg.norm(axis), 1e-6)
    axis = axis / length
    helper = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    t = np.linspace(0.0, 1.0, rings)
    a = np.linspace(0.0, 2 * np.pi, around, endpoint=False)
    taper = 1.0 - 0.15 * t
    pts = (start + t[:, None, None] * (end - start)
           + radius * taper[:, None, None] * (np.cos(a)[None, :, None] * u + np.sin(a)[None, :, None] * v))
    idx = np.arange(rings * around).reshape(rings, around)
    nxt = np.roll(idx, -1, axis=1)
    quads = np.stack([idx[:-1], nxt[:-1], nxt[1:], idx[1:]], -1).reshape(-1, 4)
    tris = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    return pts.reshape(-1, 3), tris


def _landmarks(kind: str, names: list[str], pos: np.ndarray) -> dict[int, tuple[np.ndarray, str]]:
    """Published landmark vertex ids -> (position, joint that carries it)."""
    out: dict[int, tuple[np.ndarray, str]] = {}
    if kind in _HEAD_FEET:
        head, la, ra = (pos[names.index(n)] for n in ("head", "left_ankle", "right_ankle"))
        spots = {"Nose": (head + (0.0, 0.02, 0.11), "head"), "LEye": (head + (0.035, 0.05, 0.09), "head"),
                 "REye": (head + (-0.035, 0.05, 0.09), "head"), "LEar": (head + (0.08, 0.03, 0.0), "head"),
                 "REar": (head + (-0.08, 0.03, 0.0), "head"),
                 "LBigToe": (la + (-0.01, -0.07, 0.17), "left_foot"),
                 "LSmallToe": (la + (0.05, -0.07, 0.15), "left_foot"),
                 "LHeel": (la + (0.0, -0.07, -0.05), "left_ankle"),
                 "RBigToe": (ra + (0.01, -0.07, 0.17), "right_foot"),
                 "RSmallToe": (ra + (-0.05, -0.07, 0.15), "right_foot"),
                 "RHeel": (ra + (0.0, -0.07, -0.05), "right_ankle")}
        for key, vid in _HEAD_FEET[kind].items():
            out[vid] = (np.asarray(spots[key][0]), spots[key][1])
    if kind in _TIPS:
        for prefix, tips in _TIPS[kind].items():
            for finger, vid in zip(("thumb", "index", "middle", "ring", "pinky"), tips, strict=True):
                j3 = names.index(f"{prefix}{finger}3")
                p = names.index(f"{prefix}{finger}2")
                out[vid] = (pos[j3] + (pos[j3] - pos[p]) * 0.8, f"{prefix}{finger}3")
    return out


def make_model_arrays(kind: str = "smpl", num_shapes: int = 10, seed: int = 0, dtype=np.float64) -> dict:
    """Model arrays in the official layout (``v_template``, ``shapedirs`` (V, 3, S), ``posedirs``
    (V, 3, 9 (J-1)), ``J_regressor`` (J, V), ``weights`` (V, J), ``kintree_table`` (2, J), ``f``).

    For SMPL-X, ``shapedirs`` holds 300 shape plus ``num_shapes`` expression directions, like
    the official 300 + 100 layout; MANO adds PCA ``hands_components`` and ``hands_mean``, SMPL-H
    and SMPL-X one set per hand (``hands_componentsl``, ``hands_meanl``, ``..r``).
    """
    if kind not in MODEL_SIZES:
        raise ValueError(f"kind must be one of {sorted(MODEL_SIZES)}")
    rng = np.random.default_rng(seed)
    num_verts, num_joints = MODEL_SIZES[kind]
    names, parents, pos = _skeleton(kind)
    segs = _segments(names, parents, pos)
    lengths = np.array([np.linalg.norm(e - s) + 2 * r for _, s, e, r in segs])
    landmarks = _landmarks(kind, names, pos)
    budget = num_verts - len(landmarks)
    rings = np.maximum(2, np.floor(lengths / lengths.sum() * budget / 10).astype(int))
    while (rings * 10).sum() > budget:
        rings[np.argmax(rings)] -= 1
    verts, faces, owner = [], [], []
    for (j, s, e, r), n in zip(segs, rings, strict=True):
        pts, tris = _tube(s, e, r, n)
        faces.append(tris + sum(len(v) for v in verts))
        verts.append(pts)
        owner += [j] * len(pts)
    verts = np.concatenate(verts)
    faces = np.concatenate(faces)
    owner = np.array(owner)
    # Fill the remaining slots (landmarks and padding) without disturbing the triangles' indices.
    free = [i for i in range(num_verts) if i not in landmarks]
    template = np.zeros((num_verts, 3))
    carrier = np.zeros(num_verts, dtype=int)
    template[free[: len(verts)]] = verts
    carrier[free[: len(verts)]] = owner
    remap = np.array(free[: len(verts)])
    faces = remap[faces]
    pad = free[len(verts):]
    template[pad] = pos[0] + rng.normal(0, 0.02, (len(pad), 3))
    for vid, (p, joint) in landmarks.items():
        template[vid] = p
        carrier[vid] = names.index(joint)
    # Skinning: mostly the carrying joint, blended with its parent near the joint.
    weights = np.zeros((num_verts, num_joints))
    weights[np.arange(num_verts), carrier] = 1.0
    par = parents[carrier]
    d = np.linalg.norm(template - pos[carrier], axis=1)
    blend = np.where(par >= 0, 0.5 * np.exp(-(d / 0.05) ** 2), 0.0)
    weights[np.arange(num_verts), carrier] -= blend
    weights[np.arange(num_verts)[par >= 0], par[par >= 0]] += blend[par >= 0]
    # Joint regressor: the 12 vertices nearest each joint, inverse-distance weighted.
    J_regressor = np.zeros((num_joints, num_verts))
    for j in range(num_joints):
        dist = np.linalg.norm(template[free[: len(verts)]] - pos[j], axis=1)
        near = np.argsort(dist)[:12]
        w = 1.0 / (dist[near] + 0.01)
        J_regressor[j, remap[near]] = w / w.sum()
    # Shape directions: overall size, leg length, girth, then smooth random fields.
    centred = template - pos[0]
    total = num_shapes + (300 if kind == "smplx" else 0)
    shapedirs = np.zeros((num_verts, 3, total))
    shapedirs[..., 0] = 0.06 * centred
    shapedirs[..., 1] = 0.04 * np.where(centred[:, 1:2] < -0.05, centred * [0, 1, 0], 0.0)
    shapedirs[..., 2] = 0.2 * (template - pos[carrier])  # girth: away from the carrying joint
    for s in range(3, total):
        A = rng.normal(0, 0.01, (3, 3))
        shapedirs[..., s] = centred @ A.T + 0.003 * np.sin(centred @ rng.normal(0, 5, (3, 3)))
    posedirs = rng.normal(0, 2e-4, (num_verts, 3, 9 * (num_joints - 1)))
    kintree = np.stack([np.where(parents < 0, 4294967295, parents), np.arange(num_joints)]).astype(np.int64)
    arrays = {"v_template": template, "shapedirs": shapedirs, "posedirs": posedirs, "J_regressor": J_regressor,
              "weights": weights, "kintree_table": kintree, "f": faces.astype(np.uint32)}
    for suffix in {"mano": [""], "smplh": ["l", "r"], "smplx": ["l", "r"]}.get(kind, []):
        q, _ = np.linalg.qr(rng.normal(size=(45, 45)))
        arrays[f"hands_components{suffix}"] = q.T
        arrays[f"hands_mean{suffix}"] = rng.normal(0, 0.1, 45)
    return {k: (v.astype(dtype) if v.dtype.kind == "f" else v) for k, v in arrays.items()}


def mirror_hand_arrays(right: dict, defective: bool = False) -> dict:
    """A left MANO from right-hand ``arrays``: the mirror image through x = 0 (vertices, blend
    shapes, pose correctives, PCA poses; triangles re-wound). ``defective=True`` keeps the right
    hand's x component of ``shapedirs``, reproducing the published MANO_LEFT.pkl's defect."""
    s = np.array([-1.0, 1.0, 1.0])
    out = dict(right)
    out["v_template"] = np.asarray(right["v_template"]) * s
    shapedirs = np.array(right["shapedirs"])
    if not defective:
        shapedirs[:, 0] *= -1.0
    out["shapedirs"] = shapedirs
    V = len(out["v_template"])
    posedirs = np.asarray(right["posedirs"]).reshape(V, 3, -1, 3, 3)  # (V, xyz, joint, row, col)
    flip = s[None, :, None, None, None] * s[None, None, None, :, None] * s[None, None, None, None, :]
    out["posedirs"] = (posedirs * flip).reshape(V, 3, -1).astype(right["posedirs"].dtype)
    out["f"] = np.asarray(right["f"])[:, [0, 2, 1]]
    axis_angle_mirror = np.tile([1.0, -1.0, -1.0], 15)  # a mirrored rotation's axis: (x, -y, -z)
    out["hands_components"] = np.asarray(right["hands_components"]) * axis_angle_mirror
    out["hands_mean"] = np.asarray(right["hands_mean"]) * axis_angle_mirror
    return out


class _ChumpyArray:
    """Pickles like chumpy's ``Ch``: module ``chumpy.ch``, class ``Ch``, state ``{'x': array}``."""

    def __init__(self, x):
        self.x = x

    def __reduce__(self):
        return (_ch_class(), (), {"x": self.x})


def _ch_class():
    return sys.modules["chumpy.ch"].Ch


class _CscMatrix:
    """Pickles like ``scipy.sparse.csc.csc_matrix`` (module path of the official files)."""

    def __init__(self, dense):
        cols = [np.flatnonzero(dense[:, c]) for c in range(dense.shape[1])]
        self.state = {"_shape": dense.shape, "indices": np.concatenate(cols).astype(np.int32),
                      "indptr": np.concatenate([[0], np.cumsum([len(c) for c in cols])]).astype(np.int32),
                      "data": np.concatenate([dense[c, i] for i, c in enumerate(cols)]), "maxprint": 50}

    def __reduce__(self):
        return (sys.modules["scipy.sparse.csc"].csc_matrix, (), self.state)


@contextmanager
def _fake_modules():
    """Temporarily provide ``chumpy.ch.Ch`` and ``scipy.sparse.csc.csc_matrix`` for pickling."""
    names = ["chumpy", "chumpy.ch", "scipy", "scipy.sparse", "scipy.sparse.csc"]
    saved = {n: sys.modules.get(n) for n in names}
    try:
        ch = types.ModuleType("chumpy.ch")
        ch.Ch = type("Ch", (), {"__module__": "chumpy.ch"})
        csc = types.ModuleType("scipy.sparse.csc")
        csc.csc_matrix = type("csc_matrix", (), {"__module__": "scipy.sparse.csc"})
        packages = {n: types.ModuleType(n) for n in ("chumpy", "scipy", "scipy.sparse")}
        sys.modules.update({**packages, "chumpy.ch": ch, "scipy.sparse.csc": csc})
        yield
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m


def write_model_file(arrays: dict, path: str | Path, form: str = "chumpy") -> Path:
    """Write ``arrays`` as ``chumpy`` (official style: chumpy arrays, sparse J_regressor, protocol 2),
    ``pkl`` (plain NumPy pickle) or ``npz``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if form == "npz":
        np.savez(path, **arrays)
    elif form == "pkl":
        with path.open("wb") as fh:
            pickle.dump(dict(arrays), fh, protocol=2)
    elif form == "chumpy":
        wrapped = dict(arrays)
        for key in ("v_template", "shapedirs", "posedirs", "weights"):
            wrapped[key] = _ChumpyArray(arrays[key])
        wrapped["J_regressor"] = _CscMatrix(arrays["J_regressor"])
        with _fake_modules(), path.open("wb") as fh:
            pickle.dump(wrapped, fh, protocol=2)
    else:
        raise ValueError(f"form must be 'chumpy', 'pkl' or 'npz', got {form!r}")
    return path
