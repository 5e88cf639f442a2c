"""A rendered capture with what real ones have: cameras out of step by fractions of a frame, a
bystander walking through the background of some views, mixed resolutions and orientations
(portrait phones), lens distortion and sensor noise.

Time: camera ``c``'s frame ``k`` shows the scene at ``k / fps + offset_c`` on the reference (first)
camera's clock, ``offset_c`` drawn in ``[-max_offset, max_offset]`` (the first camera's is 0), so
the offsets that :func:`mvmocap.sync.estimate_offsets` should find are exactly these. Frames at
fractional times show the meshes linearly interpolated between the two nearest truth samples.

On disk, besides ``videos/`` and ``intri.yml`` / ``extri.yml``: ``gt/params.npz`` (the subject's
parameters and ``keypoints3d`` at the reference camera's frame times), ``gt/bystander.npz``
(``keypoints3d``), ``gt/offsets.json`` (camera -> seconds) and ``gt/camera_times.npz`` (per camera
``subject_<cam>`` and ``bystander_<cam>``: (F, J, 3) keypoints at that camera's own frame times, what
its frames show).

:func:`started_apart` copies such a capture as if its cameras had been started seconds apart by
hand, as phones are.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import torch

from mvmocap.bodymodels import BodyModel
from mvmocap.camera import save_calibration
from mvmocap.console import progress
from mvmocap.io import write_params_npz
from mvmocap.render import Scene, VideoWriter, checkerboard
from mvmocap.synthetic.body_motion import model_motion
from mvmocap.synthetic.motions import motion_curves
from mvmocap.synthetic.rigs import ring_rig
from mvmocap.synthetic.video_capture import BACKDROP, SKIN
from mvmocap.utils import InputError, atomic_write_text

__all__ = ["RealisticSpec", "make_realistic_capture", "started_apart"]

_BYSTANDER = (0.72, 0.55, 0.45)  # another skin tone
# landscape webcams, portrait phones, a 4:3 camera
_SIZES = ((960, 540), (540, 960), (1280, 720), (640, 480), (720, 1280), (960, 540), (540, 960), (1280, 720),
          (640, 480))


@dataclass(frozen=True)
class RealisticSpec:
    """What the capture holds (defaults: the ``mvmocap bench realistic`` scene)."""

    frames: int = 150
    cameras: int = 5
    fps: float = 30.0
    max_offset: float = 0.1  # seconds
    bystander: bool = True
    noise: float = 4.0  # sensor noise, standard deviation in 8-bit grey levels
    distortion: float = 0.05
    radius: float = 3.5
    motion: str = "mixed"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.frames < 2 or self.cameras < 2:
            raise InputError(f"a capture needs at least 2 frames and 2 cameras, got {self.frames} and {self.cameras}")


def _interpolated(vertices: np.ndarray, position: float) -> np.ndarray:
    """(N, V, 3) samples read at a fractional index (clamped to the ends)."""
    position = float(np.clip(position, 0, len(vertices) - 1))
    lo = int(np.floor(position))
    hi = min(lo + 1, len(vertices) - 1)
    w = position - lo
    return (1 - w) * vertices[lo] + w * vertices[hi]


def _bystander_motion(frames: int, fps: float, radius: float, seed: int):
    """A walk in a straight line across the scene, between the subject and one side of the ring:
    the background for the cameras opposite, the foreground (and an occluder) for the nearest."""
    walk = motion_curves("walk", frames, fps, radius=1.0, seed=seed + 7)
    t = np.arange(frames) / fps
    speed = 1.3
    x = -0.5 * speed * t[-1] + speed * t
    xy = np.stack([x, np.full_like(x, 0.6 * radius)], -1)
    return replace(walk, xy=xy, yaw=np.zeros(frames))


def make_realistic_capture(root: str | Path, model: BodyModel, spec: RealisticSpec | None = None) -> Path:
    """Render the capture of the module docstring under ``root``; returns ``root``."""
    spec = spec or RealisticSpec()
    root = Path(root)
    rng = np.random.default_rng(spec.seed)
    margin = int(np.ceil(spec.max_offset * spec.fps)) + 2
    total = spec.frames + 2 * margin
    bounds = model.shape_bounds or (-1.0, 1.0)

    def mesh_of(params) -> np.ndarray:
        with torch.no_grad():
            out = model(*(torch.as_tensor(params[k]).float() for k in ("poses", "shapes", "Rh", "Th")),
                        keypoints="body25")
        return out.vertices.double().numpy(), out.keypoints.double().numpy()

    shapes = rng.uniform(0.6 * bounds[0], 0.6 * bounds[1], model.num_shapes)
    truth = model_motion(model, motion_curves(spec.motion, total, spec.fps, radius=0.8, seed=spec.seed), shapes)
    subject_v, subject_kp = mesh_of(truth)
    meshes = [(subject_v, SKIN)]
    bystander_kp = None
    if spec.bystander:
        other = rng.uniform(0.6 * bounds[0], 0.6 * bounds[1], model.num_shapes)
        walker = model_motion(model, _bystander_motion(total, spec.fps, spec.radius, spec.seed), other)
        bystander_v, bystander_kp = mesh_of(walker)
        meshes.append((bystander_v, _BYSTANDER))

    rig = ring_rig(spec.cameras, spec.radius, image_size=list(_SIZES), distortion=spec.distortion,
                   seed=spec.seed)
    offsets = np.concatenate([[0.0], rng.uniform(-spec.max_offset, spec.max_offset, spec.cameras - 1)])
    save_calibration(rig, root)
    faces = model.faces.cpu().numpy()
    floor = checkerboard((0.0, 0.0), half_size=6.0)
    at_camera_times = {}
    for cam, offset in zip(rig, offsets, strict=True):
        positions = margin + np.arange(spec.frames) + offset * spec.fps
        at_camera_times[f"subject_{cam.name}"] = np.stack([_interpolated(subject_kp, p) for p in positions])
        if bystander_kp is not None:
            at_camera_times[f"bystander_{cam.name}"] = np.stack([_interpolated(bystander_kp, p) for p in positions])
    with progress(spec.cameras * spec.frames, desc="render the synthetic capture", unit="view-frame") as bar:
        for cam, offset in zip(rig, offsets, strict=True):
            with VideoWriter(root / "videos" / f"{cam.name}.mp4", spec.fps, quality=8) as video:
                for k in range(spec.frames):
                    position = margin + k + offset * spec.fps
                    scene = Scene().add(*floor[:2], vertex_colours=floor[2])
                    for vertices, colour in meshes:
                        scene.add(_interpolated(vertices, position), faces, colour)
                    r = scene.render(cam)
                    image = np.where(r.mask[..., None], r.rgb * 255, BACKDROP.astype(np.float64))
                    image = image + rng.normal(0.0, spec.noise, image.shape)
                    video.write(np.clip(image + 0.5, 0, 255).astype(np.uint8))
                    bar.update(1)

    keep = slice(margin, margin + spec.frames)  # the reference camera's frames
    write_params_npz(root / "gt" / "params.npz", {
        "poses": truth["poses"][keep], "shapes": truth["shapes"], "Rh": truth["Rh"][keep], "Th": truth["Th"][keep],
        "keypoints3d": subject_kp[keep], "fps": np.float64(spec.fps), "model": np.str_(model.name)})
    if bystander_kp is not None:
        write_params_npz(root / "gt" / "bystander.npz", {"keypoints3d": bystander_kp[keep]})
    write_params_npz(root / "gt" / "camera_times.npz", at_camera_times)
    atomic_write_text(root / "gt" / "offsets.json", json.dumps(
        {"offsets": {c.name: float(o) for c, o in zip(rig, offsets, strict=True)}, "spec": asdict(spec)}, indent=1))
    return root


def started_apart(root: Path, dest: Path, spread: float) -> dict[str, int]:
    """Copy the capture at ``root`` (made by :func:`make_realistic_capture`) to ``dest`` as if every
    camera but the first had been started up to ``spread`` seconds late: its video loses a random
    number of leading frames (whole frames; the sub-frame offsets stay). The truth moves with it:
    ``gt/offsets.json`` gains the lost time, ``gt/camera_times.npz`` loses the same frames.
    The frames dropped are drawn from the capture's own seed. Returns camera -> frames dropped."""
    root, dest = Path(root), Path(dest)
    made = json.loads((root / "gt" / "offsets.json").read_text())
    fps = made["spec"]["fps"]
    rng = np.random.default_rng([made["spec"]["seed"], 7919])
    cameras = list(made["offsets"])
    most = int(round(spread * fps))
    dropped = {cam: 0 if i == 0 else int(rng.integers(0, most + 1)) for i, cam in enumerate(cameras)}
    (dest / "videos").mkdir(parents=True, exist_ok=True)
    (dest / "gt").mkdir(exist_ok=True)
    for name in ("intri.yml", "extri.yml"):
        shutil.copy(root / name, dest / name)
    for name in ("params.npz", "bystander.npz"):
        if (root / "gt" / name).exists():
            shutil.copy(root / "gt" / name, dest / "gt" / name)
    for cam, k in dropped.items():
        source, target = root / "videos" / f"{cam}.mp4", dest / "videos" / f"{cam}.mp4"
        if k == 0:
            shutil.copy(source, target)
            continue
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(source), "-vf",
                        f"trim=start_frame={k},setpts=PTS-STARTPTS", "-c:v", "libx264", "-crf", "12",
                        "-pix_fmt", "yuv420p", str(target)], check=True)
    with np.load(root / "gt" / "camera_times.npz") as npz:
        at_camera_times = {key: npz[key][dropped[key.split("_", 1)[1]]:] for key in npz.files}
    write_params_npz(dest / "gt" / "camera_times.npz", at_camera_times)
    made["offsets"] = {cam: offset + dropped[cam] / fps for cam, offset in made["offsets"].items()}
    made["started_late_frames"] = dropped
    atomic_write_text(dest / "gt" / "offsets.json", json.dumps(made, indent=1))
    return dropped
