"""Multi-person BlazePose: the two TFLite models inside the mediapipe 0.10.21 wheel run through LiteRT.

MediaPipe's legacy Pose solution follows one person. This detector runs the same two networks
(``pose_detection.tflite``, ``pose_landmark_full.tflite``) itself, the way MediaPipe's graphs
chain them, and follows several people per view:

1. person detection, in rounds (every ``detect_every`` frames while fewer than ``max_people`` are
   followed, every frame while nobody is) over squares of the frame, each taken in turn from round
   to round, so that a round costs a few detector runs, not one per square: one of the three
   whole-frame squares (the whole frame, the two squares covering its longer side; all three
   while nobody is followed) and ``search_squares`` of the overlapping squares of half its
   shorter side (people far from the camera, groups; a 1080 x 1920 frame has 15). A camera's
   first frame is searched in all of them, so that everyone seen from the start is followed from
   it. (On the Pose2Sim recordings every person found after the first frame and followed for 5
   frames or more was found in a small square; the whole-frame squares every round cost a third
   of the detection time where one person is followed.) Each square is letterboxed into 224 x
   224, values in [-1, 1]; 2254 SSD anchors (strides 8, 16, 32, 32, 32, two anchors per cell,
   fixed size); scores through a sigmoid (raw values clipped to +-100); weighted non-maximum
   suppression (IoU 0.3). Each detection carries 4 keypoints: 0 the hip centre, 1 a point that
   gives the body's scale and direction.
2. region of interest (ROI): centred on keypoint 0, rotated so that keypoint 1 lies straight
   above it, a square of side 2 x 1.25 x |kp1 - kp0|.
3. landmarks: the ROI warped to 256 x 256 (values in [0, 1]); 39 landmarks (33 BlazePose ones and
   two auxiliary points that play the detector keypoints' role), visibility and presence through
   a sigmoid, positions refined on the 64 x 64 heatmaps (7 x 7 window where the heatmap is
   confident), a person presence score.
4. tracking: each followed person's next ROI comes from its auxiliary landmarks 33 and 34 the
   same way as from a detection; a person whose presence score falls below
   ``min_tracking_confidence`` is dropped; a detection whose hip centre lies within a quarter of a
   followed person's size of theirs, at a similar size, is that person (box overlap would merge
   people side by side or one behind the other); two tracks whose landmarks coincide are merged,
   and a track whose landmarks lie within another's while claiming a larger body (the network
   reading the legs alone as a person) is dropped.

Output per frame: ``{track id: (25, 3)}`` body25 keypoints in pixels (pixel (0, 0) the centre of
the top-left pixel), the confidence MediaPipe's visibility score. Track ids are per camera: the
same person in two cameras has unrelated ids (cross-view association is ``mvmocap.associate``'s).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import cv2
import numpy as np

from mvmocap.skeletons import convert_keypoints
from mvmocap.utils import native_output_to_log

__all__ = ["BlazePoseMulti", "blazepose_model_paths", "detector_squares", "ssd_anchors"]

log = logging.getLogger(__name__)

_DET_SIZE = 224
_LMK_SIZE = 256
_HEATMAP_KERNEL = 7
_ROI_SCALE = 1.25
_SAME_PLACE = 0.25  # a detection whose hip centre is this close (fraction of the body's size) is a followed person
_INSIDE = 0.8  # a track whose landmark box lies this much inside another's, claiming a larger body, is a piece of it
_Square = tuple[float, float, float]  # a square of the frame the detector searches: centre x, centre y, side (px)
_SAME_LANDMARKS = 0.1  # two tracks whose landmarks are this close (fraction of the body's size) follow one person


def blazepose_model_paths() -> tuple[str, str]:
    """Paths of the detector and full landmark TFLite files inside the installed mediapipe wheel."""
    try:
        import mediapipe
    except ImportError as err:
        raise ImportError("the BlazePose models come with mediapipe 0.10.21: "
                          "pip install --no-deps mediapipe==0.10.21 (make install does this)") from err
    base = os.path.join(os.path.dirname(mediapipe.__file__), "modules")
    det = os.path.join(base, "pose_detection", "pose_detection.tflite")
    lmk = os.path.join(base, "pose_landmark", "pose_landmark_full.tflite")
    for path in (det, lmk):
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: BlazePose model missing from the mediapipe wheel; "
                                    "reinstall mediapipe==0.10.21")
    return det, lmk


def ssd_anchors(size: int = _DET_SIZE, strides: tuple[int, ...] = (8, 16, 32, 32, 32)) -> np.ndarray:
    """(A, 2) anchor centres in [0, 1] (fixed-size anchors: only centres matter), in the order
    the detector emits its boxes: layers of equal stride share a grid, two anchors per layer per cell."""
    centres = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        same = 0
        while layer < len(strides) and strides[layer] == stride:
            same += 1
            layer += 1
        cells = int(np.ceil(size / stride))
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], -1)
        centres.append(np.repeat(grid, 2 * same, axis=0))
    return np.concatenate(centres)


class _Network:
    """One TFLite model through LiteRT: ``run(x)`` -> its outputs by shape (less the batch axis).
    The tensors' indices are looked up once (LiteRT builds its detail dictionaries on every call)."""

    def __init__(self, path: str, threads: int):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as err:
            raise ImportError("detect.backend 'blazepose' needs LiteRT: pip install ai-edge-litert "
                              "(make install does this)") from err
        with native_output_to_log(log):  # LiteRT announces its CPU delegate on stderr
            self._interpreter = Interpreter(model_path=path, num_threads=threads)
            self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._outputs = [(tuple(int(n) for n in o["shape"][1:]), o["index"])
                         for o in self._interpreter.get_output_details()]

    def run(self, x: np.ndarray) -> dict[tuple[int, ...], np.ndarray]:
        """``x`` (1, H, W, 3) float32 -> ``{shape: output}`` of the one batch item."""
        self._interpreter.set_tensor(self._input, x)
        self._interpreter.invoke()
        return {shape: self._interpreter.get_tensor(index)[0] for shape, index in self._outputs}


@dataclass
class _Roi:
    """A rotated square: centre (2,) and side in pixels, ``axes`` (2, 2) columns = the crop's x and y
    directions in the image."""

    centre: np.ndarray
    side: float
    axes: np.ndarray

    @classmethod
    def from_points(cls, hip: np.ndarray, top: np.ndarray) -> _Roi:
        d = top - hip
        length = float(np.linalg.norm(d))
        down = -d / max(length, 1e-9)
        axes = np.array([[down[1], down[0]], [-down[0], down[1]]])  # columns: crop x, crop y
        return cls(np.asarray(hip, float), 2.0 * _ROI_SCALE * length, axes)

    def crop_matrix(self, size: int) -> np.ndarray:
        """2x3 affine from image pixels to crop pixels (``size`` x ``size``)."""
        scale = size / self.side
        A = scale * self.axes.T
        b = (size - 1) / 2 - A @ self.centre
        return np.concatenate([A, b[:, None]], 1)

    def to_image(self, crop_xy: np.ndarray, size: int) -> np.ndarray:
        """(N, 2) crop pixels -> image pixels."""
        rel = (crop_xy - (size - 1) / 2) * (self.side / size)
        return self.centre + rel @ self.axes.T

    def box(self) -> np.ndarray:
        """Axis-aligned bounds (x0, y0, x1, y1) of the square."""
        corners = self.to_image(np.array([[0, 0], [1, 0], [0, 1], [1, 1]], float) * (_LMK_SIZE - 1), _LMK_SIZE)
        return np.concatenate([corners.min(0), corners.max(0)])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80, 80)))


@dataclass
class _Track:
    id: int
    roi: _Roi
    landmarks: np.ndarray = field(default_factory=lambda: np.zeros((33, 3)))

    @property
    def scale(self) -> float:
        """The body's size in pixels: hip centre to the top point (the ROI's half side / 1.25)."""
        return self.roi.side / (2 * _ROI_SCALE)

    def same_place(self, roi: _Roi) -> bool:
        """Whether a detection's ROI is this person's: its hip centre within a quarter of the body's
        size of the track's and its size within a factor 1.5. (Boxes overlap for people side by
        side or one behind the other: their overlap does not tell them apart.)"""
        size = roi.side / (2 * _ROI_SCALE)
        return (np.linalg.norm(roi.centre - self.roi.centre) < _SAME_PLACE * self.scale
                and 1 / 1.5 < size / max(self.scale, 1e-9) < 1.5)

    def box(self) -> np.ndarray:
        """Axis-aligned bounds (x0, y0, x1, y1) of the confidently seen landmarks (else the ROI)."""
        seen = self.landmarks[self.landmarks[:, 2] > 0.3, :2]
        if len(seen) < 2:
            return self.roi.box()
        return np.concatenate([seen.min(0), seen.max(0)])

    def part_of(self, other: _Track) -> bool:
        """Whether this track is a piece of ``other`` read as a whole body (the landmark network
        on the legs alone gives a 'person' as tall as a thigh): its landmarks lie within
        ``other``'s and it claims a larger body. A person behind another is smaller, never larger."""
        a, b = self.box(), other.box()
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inside = w * h / max((a[2] - a[0]) * (a[3] - a[1]), 1e-9)
        return inside > _INSIDE and self.scale > other.scale

    def same_person(self, other: _Track) -> bool:
        """Whether two tracks follow one person: their regions are in the same place (two people
        cannot be at the same spot at the same size; the landmark network may read one person
        facing either way), or the median distance of the landmarks both see confidently is under
        a tenth of the body's size."""
        if self.same_place(other.roi):
            return True
        both = (self.landmarks[:, 2] > 0.3) & (other.landmarks[:, 2] > 0.3)
        if both.sum() < 5:
            return False
        d = np.linalg.norm(self.landmarks[both, :2] - other.landmarks[both, :2], axis=-1)
        return float(np.median(d)) < _SAME_LANDMARKS * max(self.scale, other.scale)


class BlazePoseMulti:
    """``detector(frame_rgb, index) -> {track id: (25, 3)}`` body25 keypoints of up to
    ``max_people`` people (see the module docstring)."""

    def __init__(self, *, max_people: int = 4, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, detect_every: int = 5, search_squares: int = 3,
                 threads: int = 2):
        det_path, lmk_path = blazepose_model_paths()
        self._det = _Network(det_path, threads)
        self._lmk = _Network(lmk_path, threads)
        self._anchors = ssd_anchors()
        self.max_people = max_people
        self.min_detection_confidence = min_detection_confidence
        self.min_tracking_confidence = min_tracking_confidence
        self.detect_every = max(1, detect_every)
        self.search_squares = search_squares
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._calls = 0
        self._next_square = 0  # the small square the next detection round starts from
        self._next_whole = 0  # the whole-frame square the next detection round searches

    # -- the two networks ------------------------------------------------------------------------
    def detect_people(self, rgb: np.ndarray, regions: list[_Square] | None = None) -> list[tuple[float, np.ndarray]]:
        """Person detections: [(score, (4, 2) keypoints in image pixels)], best first, in the squares
        ``regions`` ((centre x, centre y, side) in pixels; default: every square of
        :func:`detector_squares`), merged by weighted non-maximum suppression in image pixels."""
        if regions is None:
            whole, small = detector_squares(rgb.shape[1], rgb.shape[0])
            regions = whole + small
        scores, boxes, kps = [], [], []
        for cx, cy, size in regions:
            sc, bx, kp = self._detect_region(rgb, cx, cy, size)
            scores.append(sc)
            boxes.append(bx)
            kps.append(kp)
        scores, boxes, kps = np.concatenate(scores), np.concatenate(boxes), np.concatenate(kps)
        if not len(scores):
            return []
        return _weighted_nms(scores, boxes, kps, iou_threshold=0.3)

    def _detect_region(self, rgb: np.ndarray, cx: float, cy: float, size: float):
        """Detections in the square of side ``size`` centred on (cx, cy) (zero-padded where it
        leaves the image): scores (n,), boxes (n, 4) and keypoints (n, 4, 2) in image pixels."""
        scale = _DET_SIZE / size
        M = np.array([[scale, 0, (_DET_SIZE - 1) / 2 - scale * cx], [0, scale, (_DET_SIZE - 1) / 2 - scale * cy]])
        img = cv2.warpAffine(rgb, M, (_DET_SIZE, _DET_SIZE), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
        outs = {shape[-1]: out for shape, out in self._det.run(img.astype(np.float32)[None] / 127.5 - 1.0).items()}
        raw, logits = outs[12], outs[1][:, 0]
        scores = _sigmoid(np.clip(logits, -100, 100))
        keep = np.flatnonzero(scores >= self.min_detection_confidence)
        anchors = self._anchors[keep]
        r = raw[keep] / _DET_SIZE
        centre = r[:, 0:2] + anchors
        half = r[:, 2:4] / 2
        # input pixels (centres) -> image pixels
        to_image = lambda q: (q * _DET_SIZE - 0.5 - M[:, 2]) / scale  # noqa: E731
        boxes = np.concatenate([to_image(centre - half), to_image(centre + half)], 1)
        kps = to_image(r[:, 4:12].reshape(-1, 4, 2) + anchors[:, None])
        return scores[keep], boxes, kps

    def landmarks(self, rgb: np.ndarray, roi: _Roi) -> tuple[float, np.ndarray, np.ndarray]:
        """Landmarks in ``roi``: (presence score, (33, 3) x, y, visibility in image pixels,
        (2, 2) auxiliary points hip centre and body top)."""
        outs = self._landmark_outputs(rgb, roi)
        raw = outs[(195,)].reshape(39, 5)
        presence = float(outs[(1,)].ravel()[0])
        heatmap = outs[(64, 64, 39)]
        xy = _refine_on_heatmap(raw[:, :2], heatmap) - 0.5  # pixel edges -> pixel centres
        visibility = _sigmoid(raw[:, 3])
        image_xy = roi.to_image(xy, _LMK_SIZE)
        lm = np.concatenate([image_xy[:33], visibility[:33, None]], 1)
        return presence, lm, image_xy[33:35]

    def _landmark_outputs(self, rgb: np.ndarray, roi: _Roi) -> dict[tuple[int, ...], np.ndarray]:
        """The landmark model's outputs for the crop ``roi``, by shape (less the batch axis)."""
        M = roi.crop_matrix(_LMK_SIZE)
        crop = cv2.warpAffine(rgb, M, (_LMK_SIZE, _LMK_SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        return self._lmk.run(crop.astype(np.float32)[None] / 255.0)

    def silhouette(self, rgb: np.ndarray, hip: np.ndarray, top: np.ndarray) -> np.ndarray:
        """(H, W) float32: the probability of each pixel of ``rgb`` being the person whose hip
        centre and body top (image pixels, as the landmarks' alignment points) are given, from
        the landmark model's segmentation; the crop is aligned once more on the points the model
        finds. 0 outside the crop."""
        roi = _Roi.from_points(np.asarray(hip, float), np.asarray(top, float))
        outs = self._landmark_outputs(rgb, roi)
        if float(outs[(1,)].ravel()[0]) >= self.min_tracking_confidence:
            xy = outs[(195,)].reshape(39, 5)[:, :2] - 0.5
            aux = roi.to_image(xy, _LMK_SIZE)[33:35]
            roi = _Roi.from_points(aux[0], aux[1])
            outs = self._landmark_outputs(rgb, roi)
        mask = _sigmoid(outs[(_LMK_SIZE, _LMK_SIZE, 1)][..., 0]).astype(np.float32)
        return cv2.warpAffine(mask, roi.crop_matrix(_LMK_SIZE), (rgb.shape[1], rgb.shape[0]),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=0.0)

    # -- tracking --------------------------------------------------------------------------------
    def __call__(self, frame_rgb: np.ndarray, index: int | None = None) -> dict[int, np.ndarray]:
        rgb = np.ascontiguousarray(frame_rgb)
        tracks: list[_Track] = []
        for track in self._tracks:
            presence, lm, aux = self.landmarks(rgb, track.roi)
            if presence < self.min_tracking_confidence:
                continue
            track.landmarks = lm
            track.roi = _Roi.from_points(aux[0], aux[1])
            tracks.append(track)
        tracks = self._merge_duplicates(tracks)
        if len(tracks) < self.max_people and (not tracks or self._calls % self.detect_every == 0):
            for _score, kps in self.detect_people(rgb, self._round_squares(rgb, anyone_followed=bool(tracks))):
                if len(tracks) >= self.max_people:
                    break
                roi = _Roi.from_points(kps[0], kps[1])
                if any(t.same_place(roi) for t in tracks):  # a followed person detected again
                    continue
                presence, lm, aux = self.landmarks(rgb, roi)
                if presence < self.min_tracking_confidence:
                    continue
                track = _Track(self._next_id, _Roi.from_points(aux[0], aux[1]), lm)
                if any(t.same_person(track) or track.part_of(t) for t in tracks):
                    continue
                self._next_id += 1
                tracks.append(track)
        self._calls += 1
        self._tracks = tracks
        return {t.id: convert_keypoints(t.landmarks, "blazepose33", "body25") for t in tracks}

    def _round_squares(self, rgb: np.ndarray, *, anyone_followed: bool) -> list[_Square]:
        """The squares of this detection round: the next whole-frame one (all of them while nobody
        is followed) and the next ``search_squares`` small ones; every square on a camera's first
        frame, and every small one with ``search_squares`` 0."""
        whole, small = detector_squares(rgb.shape[1], rgb.shape[0])
        if self._calls == 0:
            return whole + small
        if anyone_followed:
            turn = self._next_whole % len(whole)
            self._next_whole = (turn + 1) % len(whole)
            whole = [whole[turn]]
        if not self.search_squares or self.search_squares >= len(small):
            return whole + small
        start = self._next_square % len(small)
        self._next_square = (start + self.search_squares) % len(small)
        return whole + [small[(start + k) % len(small)] for k in range(self.search_squares)]

    # -- resuming ----------------------------------------------------------------------------------
    def state(self) -> dict:
        """Everything the next frame's result depends on, JSON-ready; :meth:`restore` puts it back
        exactly (arrays keep their dtypes), so a camera resumed after an interruption is detected
        as if it never stopped."""
        return {"calls": self._calls, "next_id": self._next_id, "next_square": self._next_square,
                "next_whole": self._next_whole,
                "tracks": [{"id": t.id, "centre": _packed(t.roi.centre), "side": t.roi.side,
                            "axes": _packed(t.roi.axes), "landmarks": _packed(t.landmarks)} for t in self._tracks]}

    def restore(self, state: dict) -> None:
        self._calls, self._next_id = int(state["calls"]), int(state["next_id"])
        self._next_square, self._next_whole = int(state["next_square"]), int(state["next_whole"])
        self._tracks = [_Track(int(t["id"]), _Roi(_unpacked(t["centre"]), t["side"], _unpacked(t["axes"])),
                               _unpacked(t["landmarks"])) for t in state["tracks"]]

    @staticmethod
    def _merge_duplicates(tracks: list[_Track]) -> list[_Track]:
        """Two tracks that follow the same person: keep the older one; and drop a track that is a
        piece of another (:meth:`_Track.part_of`)."""
        kept: list[_Track] = []
        for track in sorted(tracks, key=lambda t: t.id):
            if not any(k.same_person(track) or track.part_of(k) for k in kept):
                kept.append(track)
        return [k for k in kept if not any(k.part_of(other) for other in kept if other is not k)]

    def close(self) -> None:
        self._tracks = []


def detector_squares(width: int, height: int) -> tuple[list[_Square], list[_Square]]:
    """The squares the person detector searches, (centre x, centre y, side) in pixels: the whole
    frame and the two squares covering it along its longer side; and squares of half the shorter
    side overlapping by a quarter (a 960 x 540 frame and a 1080 x 1920 one: 3 + 15 each).

    The detector sees 224 x 224 pixels: over a whole 1920-pixel-wide frame a person far from the
    camera is a few pixels tall, and it finds faces and bodies of a fair size (among five people
    walking in a group it found 2.2 people per view in the first three squares, 3.0 with all)."""
    side = min(height, width)
    whole = [((width - 1) / 2, (height - 1) / 2, float(max(height, width)))]
    if max(height, width) > 1.2 * side:
        far = max(height, width) - side / 2
        whole += [(side / 2, side / 2, side), ((far, side / 2, side) if width > height else (side / 2, far, side))]
    small = side / 2
    xs = np.linspace(small / 2, width - small / 2, int(np.ceil((width - small) / (0.75 * small))) + 1)
    ys = np.linspace(small / 2, height - small / 2, int(np.ceil((height - small) / (0.75 * small))) + 1)
    return whole, [(float(cx), float(cy), small) for cx in xs for cy in ys]


def _packed(array: np.ndarray) -> dict:
    return {"dtype": str(array.dtype), "values": array.tolist()}


def _unpacked(packed: dict) -> np.ndarray:
    return np.array(packed["values"], dtype=packed["dtype"])


def _weighted_nms(scores: np.ndarray, boxes: np.ndarray, kps: np.ndarray,
                  iou_threshold: float) -> list[tuple[float, np.ndarray]]:
    """Weighted non-maximum suppression: each cluster of overlapping boxes (IoU above the threshold
    with its best box) gives the score-weighted mean of its keypoints, with the best score.
    Returns [(score, keypoints)], best first."""
    order = np.argsort(-scores)
    remaining = list(order)
    out = []
    while remaining:
        best = remaining[0]
        ious = np.array([_iou(boxes[best], boxes[i]) for i in remaining])
        cluster = [remaining[i] for i in np.flatnonzero(ious > iou_threshold)] or [best]
        weights = scores[cluster]
        out.append((float(scores[best]), (kps[cluster] * weights[:, None, None]).sum(0) / weights.sum()))
        remaining = [remaining[i] for i in np.flatnonzero(ious <= iou_threshold) if remaining[i] != best]
    return out


def _refine_on_heatmap(xy: np.ndarray, heatmap: np.ndarray, min_confidence: float = 0.5) -> np.ndarray:
    """(L, 2) crop-pixel landmarks refined as the confidence-weighted mean position over a
    ``_HEATMAP_KERNEL`` window of each landmark's (64, 64) heatmap, where it is confident (cells
    outside the heatmap weigh nothing). All landmarks at once."""
    size = heatmap.shape[0]
    stride = _LMK_SIZE / size
    count = min(len(xy), heatmap.shape[-1])
    cells = (xy[:count] / stride).astype(np.int64)  # truncated towards zero, as int() does
    offsets = np.arange(_HEATMAP_KERNEL) - _HEATMAP_KERNEL // 2
    xs, ys = cells[:, :1] + offsets, cells[:, 1:] + offsets  # (L, k) each
    inside = ((ys >= 0) & (ys < size))[:, :, None] & ((xs >= 0) & (xs < size))[:, None, :]
    window = heatmap[np.clip(ys, 0, size - 1)[:, :, None], np.clip(xs, 0, size - 1)[:, None, :],
                     np.arange(count)[:, None, None]]
    window = np.where(inside, _sigmoid(window), 0.0)  # (L, k, k)
    confident = window.max((1, 2)) >= min_confidence
    total = np.maximum(window.sum((1, 2)), 1e-12)
    out = xy.copy()
    out[:count, 0] = np.where(confident, ((xs + 0.5)[:, None, :] * window).sum((1, 2)) / total * stride, xy[:count, 0])
    out[:count, 1] = np.where(confident, ((ys + 0.5)[:, :, None] * window).sum((1, 2)) / total * stride, xy[:count, 1])
    return out
