"""``OUT/report.html``: one self-contained page about a finished run, for people to look at.

Read from the run's files only (so ``mvmocap report OUT`` rewrites it at any time): ``report.json``
(the summary, sync offsets, gait events), ``quality.npz`` (each camera's held-out and reprojection
error, people detected and left/right fixes per frame: a body run writes it), ``angles.mot`` (each
person's, ``people/<id>/`` in a multi-person run), ``params.npz`` (the fitted keypoints: the path
on the floor), the calibration (the cameras on the floor map) and ``thumbnails/`` (the overlay at
the frames the cameras agree on worst and best, saved by the run: seeking in videos is slow).
Sections: the run summary; per-camera quality over time, with problem stretches shaded; sync
offsets; joint-angle curves (left and right in one plot; gait cycles normalised to 0-100% when
found); the path on the floor; the thumbnails; a link to the replay page. Plots are inline SVG
(:mod:`mvmocap.report.svg`), images inline JPEG: nothing is fetched when it opens. Cost: linear in
frames.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np

from mvmocap.angles import normalised_cycles, read_mot
from mvmocap.camera import CameraRig, load_calibration
from mvmocap.io import DataError
from mvmocap.report.svg import COLOURS, SIDE_COLOURS, Chart, Series, floor_map, line_chart
from mvmocap.report.thumbnails import THUMBNAILS
from mvmocap.skeletons import BODY25
from mvmocap.triangulate import nan_median
from mvmocap.utils import atomic_write_text, true_runs

__all__ = ["ANGLE_PLOTS", "write_report_page"]

log = logging.getLogger(__name__)

# The plots of joint angles: (title, the angle's name without its side, or a midline angle)
ANGLE_PLOTS = (("Hip flexion", "hip_flexion"), ("Hip adduction", "hip_adduction"), ("Hip rotation", "hip_rotation"),
               ("Knee flexion", "knee_flexion"), ("Ankle dorsiflexion", "ankle_flexion"),
               ("Shoulder flexion", "shoulder_flexion"), ("Shoulder abduction", "shoulder_abduction"),
               ("Elbow flexion", "elbow_flexion"), ("Wrist flexion", "wrist_flexion"),
               ("Wrist deviation (ulnar)", "wrist_deviation"), ("Trunk flexion", "trunk_flexion"),
               ("Trunk bending", "trunk_bending"), ("Pelvis tilt", "pelvis_tilt"), ("Pelvis list", "pelvis_list"))
_PROBLEM_PX = 15.0  # a camera's held-out error above this and twice the others' then marks a problem
_PROBLEM_SECONDS = 0.2

_STYLE = """body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1360px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #eee;text-align:left}
.plots{display:flex;flex-wrap:wrap;gap:8px}.plot{background:#fff}
.plot .title{font-weight:600;font-size:13px}.plot .tick{font-size:11px;fill:#555}
.plot .label{font-size:11px;fill:#333}.plot .area{fill:#fafafa;stroke:#ccc}.plot .grid{stroke:#e6e6e6}
.plot .problem{fill:#e74c3c;fill-opacity:0.18}.plot .camera{fill:#555}
figure{margin:0}figcaption{font-size:12px;color:#555}.note{color:#666;font-size:13px}"""
_SCRIPT = """window.reportErrors=[];window.addEventListener('error',e=>reportErrors.push(String(e.message)));
window.addEventListener('load',()=>{const only=new URLSearchParams(location.hash.slice(1)).get('only');
if(only){document.querySelectorAll('.plot').forEach(p=>{if(p.dataset.plot!==only)p.style.display='none'});
document.querySelectorAll('h1,h2,p,table,figure').forEach(e=>e.style.display='none');
document.body.style.margin='0';}
const s=document.getElementById('status');s.dataset.plots=document.querySelectorAll('svg.plot').length;
s.dataset.errors=JSON.stringify(reportErrors);s.dataset.state='ready';});"""


@dataclass(frozen=True)
class PersonAngles:
    """One person's joint angles (``angles.mot``) and gait events (frame numbers)."""

    id: int | None
    labels: list[str]
    values: np.ndarray  # (F, 1 + A): time, then the angles
    heel_strikes: dict[str, list[int]]

    def column(self, name: str) -> np.ndarray | None:
        return self.values[:, self.labels.index(name)] if name in self.labels else None


def _read_people(out: Path, report: dict) -> list[PersonAngles]:
    """Every person's angles and gait events of the run in ``out``."""
    if "people" in report:
        entries = [(int(pid), out / "people" / pid, entry.get("angles", {})) for pid, entry in report["people"].items()]
    else:
        entries = [(None, out, report.get("angles", {}))]
    people = []
    for pid, folder, angles in entries:
        if (folder / "angles.mot").is_file():
            labels, values = read_mot(folder / "angles.mot")
            people.append(PersonAngles(pid, labels, values, angles.get("gait", {}).get("heel_strikes", {})))
    return people


def _summary_table(report: dict, out: Path) -> str:
    heldout = (report.get("heldout") or {}).get("heldout_px")
    rows = {"output folder": str(out), "cameras": ", ".join(report.get("cameras", [])),
            "frames": "-".join(str(f) for f in report.get("frames", [])),
            "frame rate": f"{report.get('fps', 0):.2f} fps",
            "body model": report.get("model"), "calibration": report.get("calibration"),
            "held-out error": f"{heldout:.2f} px (each camera predicted from the others, mean of medians)"
            if heldout is not None else None,
            "people": len(report["people"]) if "people" in report else None,
            "time per stage": ", ".join(f"{k} {v:.1f} s" for k, v in report.get("timings_seconds", {}).items())}
    gait = (report.get("angles") or {}).get("gait")
    if gait:
        rows["gait"] = (f"cadence {gait.get('cadence_steps_per_min')} steps/min, speed {gait.get('walking_speed_m_s')} "
                        "m/s, stride " + ", ".join(f"{s} {v.get('stride_length_m')} m in {v.get('stride_time_s')} s"
                                                 for s, v in gait.get("sides", {}).items()))
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows.items() if v is not None)
    return f"<table>{body}</table>"


def _stretches(bad: np.ndarray, times: np.ndarray, fps: float) -> list[tuple[float, float]]:
    """(from, to) seconds of each run of ``bad`` frames at least ``_PROBLEM_SECONDS`` long."""
    shortest = max(1, int(round(_PROBLEM_SECONDS * fps)))
    return [(float(times[a]), float(times[b - 1]) + 1 / fps) for a, b in true_runs(bad) if b - a >= shortest]


def _running_median(values: np.ndarray, half: int) -> np.ndarray:
    """(F, V) ``values`` as the median over the frames within ``half`` of each (NaN: none there)."""
    padded = np.pad(values, ((half, half), (0, 0)), constant_values=np.nan)
    windows = np.stack([padded[k:k + len(values)] for k in range(2 * half + 1)])
    return nan_median(windows, 0)


def _camera_quality(quality: dict, fps: float) -> tuple[str, dict[str, list]]:
    """One chart per camera: held-out and reprojection error, people detected and left/right
    fixes over time, problem stretches shaded; also the stretches per camera (seconds)."""
    times = quality["frames"] / fps
    charts, problems = [], {}
    steady = _running_median(quality["heldout_px"], max(1, int(round(_PROBLEM_SECONDS / 2 * fps))))
    for v, cam in enumerate(quality["cameras"]):
        held = quality["heldout_px"][:, v]
        others = nan_median(np.delete(steady, v, axis=1), 1)
        limit = np.maximum(_PROBLEM_PX, 2 * np.where(np.isfinite(others), others, nan_median(steady[:, v], 0)))
        others_see = (quality["detections"] > 0).sum(1) >= 2
        bad = (np.nan_to_num(steady[:, v]) > limit) | ((quality["detections"][:, v] == 0) & others_see)
        problems[str(cam)] = _stretches(bad, times, fps)
        fixed = np.where(quality["left_right_fixed"][:, v], 2.0, np.nan)
        series = [Series("held-out px", times, held, COLOURS[0]),
                  Series("reprojection px", times, quality["reprojection_px"][:, v], COLOURS[2]),
                  Series("people detected x5", times, 5.0 * quality["detections"][:, v], COLOURS[7], dashed=True),
                  Series("left/right fixed", times, fixed, COLOURS[4])]
        top = max(40.0, float(np.nanpercentile(np.r_[held, 0.0], 99)) * 1.1)
        charts.append(line_chart(f"camera-{cam}", series, Chart(f"camera {cam}", "seconds", "px", 660, 190, (0.0, top)),
                                 stretches=problems[str(cam)]))
    return "".join(charts), problems


def _angle_charts(people: list[PersonAngles], fps: float) -> str:
    """Each angle over time, left and right in one plot, per person; and where gait events were
    found, each side's gait cycles normalised to 0-100% (mean and +- one standard deviation)."""
    charts = []
    for person in people:
        who = f"person {person.id}: " if person.id is not None else ""
        times = person.values[:, 0]
        for title, angle in ANGLE_PLOTS:
            sided = {s: person.column(f"{angle}_{s}") for s in ("l", "r")}
            series = [Series({"l": "left", "r": "right"}[s], times, c, SIDE_COLOURS[s]) for s, c in sided.items()
                      if c is not None]
            if not series and person.column(angle) is not None:
                series = [Series("", times, person.column(angle), COLOURS[2])]
            if not series:
                continue
            name = f"angle-{angle}" + (f"-{person.id}" if person.id is not None else "")
            charts.append(line_chart(name, series, Chart(who + title, "seconds", "deg", 440, 180)))
            cycles = _cycle_series(person, sided, fps)
            if cycles:
                charts.append(line_chart(name + "-cycle", cycles, Chart(f"{who}{title} over the gait cycle",
                                                                        "% of gait cycle", "deg", 440, 180)))
    return "".join(charts)


def _cycle_series(person: PersonAngles, sided: dict[str, np.ndarray | None], fps: float) -> list[Series]:
    rows = np.rint(person.values[:, 0] * fps).astype(int)
    where = {int(f): i for i, f in enumerate(rows)}
    series = []
    for side, column in sided.items():
        strikes = [where[f] for f in person.heel_strikes.get(side, []) if f in where]
        cycles = normalised_cycles(column, strikes) if column is not None else np.zeros((0, 101))
        if len(cycles):
            series.append(Series(f"{'left' if side == 'l' else 'right'} ({len(cycles)} cycles)",
                                 np.linspace(0, 100, 101), cycles.mean(0), SIDE_COLOURS[side],
                                 spread=cycles.std(0)))
    return series


def _paths(out: Path, report: dict) -> list[Series]:
    """The fitted pelvis (MidHip) on the floor, per person."""
    files = ([(int(pid), out / "people" / pid / "params.npz") for pid in report["people"]]
             if "people" in report else [(None, out / "params.npz")])
    paths = []
    for k, (pid, path) in enumerate(files):
        if path.is_file():
            hip = np.asarray(np.load(path)["keypoints3d"])[:, BODY25.index("MidHip")]
            paths.append(Series(f"person {pid}" if pid is not None else "pelvis", hip[:, 0], hip[:, 1],
                                COLOURS[k % len(COLOURS)]))
    return paths


def _rig(report: dict) -> CameraRig | None:
    try:
        return load_calibration(report["calibration"])
    except (KeyError, OSError, ValueError, DataError):
        return None


def _thumbnails(out: Path) -> str:
    """The overlay thumbnails the run saved (:mod:`mvmocap.report.thumbnails`), as inline JPEG."""
    index = out / THUMBNAILS / "index.json"
    if not index.is_file():
        return '<p class="note">No thumbnails: the run read no videos.</p>'
    figures = []
    for entry in json.loads(index.read_text()):
        path = out / THUMBNAILS / entry["file"]
        if path.is_file():
            figures.append(f'<figure><img alt="{escape(entry["camera"])} frame {entry["frame"]}" '
                           f'src="data:image/jpeg;base64,{base64.b64encode(path.read_bytes()).decode()}">'
                           f'<figcaption>{escape(entry["label"])}: frame {entry["frame"]}, {escape(entry["camera"])} '
                           f'({entry["heldout_px"]:.1f} px held-out, the cameras\' mean)</figcaption></figure>')
    return f'<div class="plots">{"".join(figures)}</div>' if figures else '<p class="note">No thumbnails.</p>'


def _sync_table(report: dict) -> str:
    """Each camera's offset: from ``--sync auto`` (with its uncertainty and status) or a sync file."""
    sync = report.get("sync") or {}
    cameras = sync.get("cameras") or {c: {"offset": o} for c, o in (sync.get("offsets") or {}).items()}
    if not cameras:
        return f'<p class="note">Cameras taken as synchronised (sync file: {escape(str(sync.get("source")))}).</p>'
    fps = report.get("fps", 30.0)
    rows = []
    for cam, entry in cameras.items():
        offset, spread = entry.get("offset") or 0.0, entry.get("uncertainty")
        plus = f" &plusmn; {spread * 1000:.1f} ms" if spread is not None else ""
        rows.append(f"<tr><td>{escape(cam)}</td><td>{offset * 1000:+.1f} ms{plus}</td><td>{offset * fps:+.2f} frames"
                    f"</td><td>{escape(str(entry.get('status', '')))}</td></tr>")
    return (f"<table><tr><th>camera</th><th>offset</th><th></th><th>status</th></tr>{''.join(rows)}</table>"
            f'<p class="note">reference {escape(str(sync.get("reference")))}; '
            f'source {escape(str(sync.get("source")))}</p>')


def write_report_page(out: str | Path, html: str | Path | None = None) -> Path:
    """Write the page of the module docstring for the run in ``out`` (default ``OUT/report.html``,
    atomically); returns its path."""
    out = Path(out)
    if not (out / "report.json").is_file():
        raise DataError(out / "report.json", "not found: the report page reads a finished run's output folder")
    report = json.loads((out / "report.json").read_text())
    fps = float(report.get("fps") or 30.0)
    quality = dict(np.load(out / "quality.npz")) if (out / "quality.npz").is_file() else None
    rig = _rig(report)
    sections = [f"<h1>mvmocap run: {escape(out.name)}</h1>", _summary_table(report, out)]
    if quality is not None:
        charts, problems = _camera_quality(quality, fps)
        marked = {c: len(p) for c, p in problems.items() if p}
        who = "each person (the median over the people seen)" if "people" in report else "the subject"
        sections += ["<h2>Cameras over time</h2>", f'<p class="note">Held-out error: {who} reconstructed '
                     "from the other cameras, projected into this one. Shaded: problem stretches (held-out error, as a "
                     f"median over {_PROBLEM_SECONDS:g} s, above {_PROBLEM_PX:g} px and twice the other cameras' "
                     "then, or nobody detected where others see someone)"
                     f"{': ' + json.dumps(marked) if marked else ': none'}.</p>", f'<div class="plots">{charts}</div>']
    sections += ["<h2>Sync offsets</h2>", _sync_table(report)]
    people = _read_people(out, report)
    if people:
        sections += ["<h2>Joint angles</h2>", '<p class="note">ISB conventions, degrees: flexion, adduction (shoulder: '
                     "abduction), internal rotation and dorsiflexion positive; left blue, right red "
                     "(README, Joint angles).</p>", f'<div class="plots">{_angle_charts(people, fps)}</div>']
    paths = _paths(out, report)
    if paths:
        cameras = [(c.name, *centre[:2]) for c, centre in zip(rig, rig.centers(), strict=True)] if rig else []
        sections += ["<h2>Path on the floor</h2>", floor_map("floor", paths, cameras, title="from above")]
    sections += ["<h2>Overlay at the worst and best frames</h2>", _thumbnails(out)]
    replay = out / "replay.html"
    sections.append(f'<p><a href="replay.html">3D replay</a> ({"open it" if replay.is_file() else "write it with "}'
                    f'{"" if replay.is_file() else "<code>mvmocap view " + escape(str(out)) + "</code>"})</p>')
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>mvmocap report: {escape(out.name)}'
            f'</title><style>{_STYLE}</style></head><body><div id="status" data-state="loading"></div>'
            f'{"".join(sections)}<script>{_SCRIPT}</script></body></html>')
    target = Path(html) if html is not None else out / "report.html"
    atomic_write_text(target, page)
    return target
