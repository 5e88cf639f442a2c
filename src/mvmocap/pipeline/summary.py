"""The closing summaries of ``mvmocap run`` (and its hand experiments) and ``mvmocap sync``: what
a user looks at next (outputs, videos, quality per camera, what looks wrong, time per stage), as
text built from the run's report."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mvmocap.console import summary_table

__all__ = ["camera_problems", "hands_summary", "multi_summary", "run_summary", "sync_summary"]

# A camera whose held-out error is this many times the median of all cameras is named as a problem.
HELDOUT_RATIO = 2.0
# ... and one that lost more than this fraction of its observations to the robust triangulation.
REJECTED_FRACTION = 0.2


def camera_problems(report: dict) -> dict[str, list[str]]:
    """``{camera: [what looks wrong, ...]}`` from a body run's report (cameras without problems absent)."""
    problems: dict[str, list[str]] = {}
    heldout = {c: v for c, v in report["heldout"]["per_camera"].items() if v is not None}
    typical = float(np.median(list(heldout.values()))) if heldout else None
    for cam in report["cameras"]:
        found = []
        if cam in report.get("cameras_never_seeing_anyone", []):
            found.append("never saw anyone")
        elif cam in report["cameras_never_seeing_subject"]:
            found.append("never sees the subject")
        if cam in report.get("frames_undecodable", {}):
            found.append(f"frames {report['frames_undecodable'][cam]} of its video could not be decoded (not seen)")
        if typical and heldout.get(cam, 0) > HELDOUT_RATIO * typical:
            found.append(f"held-out error {heldout[cam]:.1f} px, over {HELDOUT_RATIO:g}x the median "
                         f"({typical:.1f} px): check its calibration and sync (a calibration the cameras moved "
                         "since: mvmocap calib people ROOT --refine CALIB)")
        rejected = report["triangulation"]["per_camera"].get(cam, {}).get("rejected_fraction", 0.0)
        if rejected > REJECTED_FRACTION:
            found.append(f"{100 * rejected:.0f}% of its detections rejected as outliers")
        status = report["sync"].get("cameras", {}).get(cam, {}).get("status")
        if status == "unshifted":
            found.append("time offset could not be determined; used unshifted")
        if found:
            problems[cam] = found
    return problems


def _camera_rows(report: dict) -> dict[str, str]:
    tri = report["triangulation"]["per_camera"]
    heldout = report["heldout"]["per_camera"]
    offsets = report["sync"].get("offsets") or {c: v["offset"] for c, v in report["sync"].get("cameras", {}).items()}
    fixed = report["left_right"]["per_camera"]
    rows = {}
    for cam in report["cameras"]:
        if cam in report.get("cameras_never_seeing_anyone", []):
            rows[f"  {cam}"] = "never saw anyone"
            continue
        reprojection = tri.get(cam, {}).get("reprojection_error_px")
        cells = [f"held-out {heldout[cam]:5.1f} px" if heldout.get(cam) is not None else "held-out     n/a",
                 f"reprojection {reprojection:5.1f} px" if reprojection is not None else "reprojection   n/a",
                 f"rejected {100 * tri[cam]['rejected_fraction']:4.1f}%" if cam in tri else ""]
        if offsets:
            cells.append(f"offset {offsets.get(cam, 0.0) * report['fps']:+6.2f} frames")
        if fixed.get(cam):
            cells.append(f"left/right fixed in {fixed[cam]} frames")
        rows[f"  {cam}"] = "   ".join(c for c in cells if c)
    return rows


def _frame_list(frames: list[int]) -> str:
    return f"{len(frames)}" + (f" ({', '.join(map(str, frames[:8]))}{', ...' if len(frames) > 8 else ''})"
                               if frames else "")


def _videos(out: Path) -> str:
    found = [str(p) for p in (out / "videos" / "overlay.mp4", out / "videos" / "ground.mp4") if p.is_file()]
    return "  ".join(found) or "none (--no-video)"


def run_summary(report: dict, out: Path) -> str:
    """The table printed at the end of a body ``mvmocap run``."""
    subject, heldout = report["subject"], report["heldout"]
    problems = camera_problems(report)
    rows = {
        "outputs": str(out),
        "videos": _videos(out),
        "model": report["model"],
        "frames": f"{report['frames'][0]}-{report['frames'][1]} ({report['fps']:g} fps)" if report["frames"] else "0",
        "subject": f"{subject['view_frames_assigned']} of {subject['view_frames_with_detections']} view-frames "
                   f"({subject['detections_dropped']} other detections dropped)",
        "sync": report["sync"].get("source") or "none (cameras taken as synchronised)",
        "held-out error": (f"{heldout['heldout_px']:.1f} px (each camera predicted from the others)"
                           if heldout["heldout_px"] is not None else "n/a (needs 3 cameras that see the subject)"),
        "body width": _width(report.get("silhouette"), "") or "not measured",
        "reprojection error": f"{report['triangulation']['mean_reprojection_error_px']:.2f} px, "
                              f"{100 * report['triangulation']['missing_fraction']:.1f}% of joints missing",
        "per camera": "",
        **_camera_rows(report),
        "frames without detection": _frame_list(report["frames_without_detection"]),
        "frames with too few views": _frame_list(report["frames_too_few_views"]),
        "problems": "; ".join(f"{cam}: {', '.join(found)}" for cam, found in problems.items()) or "none found",
        **{f"time: {stage}": f"{seconds:.1f} s" for stage, seconds in report["timings_seconds"].items()},
    }
    return summary_table("mvmocap run: summary", rows)


def _width(silhouette: dict | None, lead: str) -> str:
    """The fitted body's width against the person's silhouette, after ``lead``; "" unmeasured."""
    if not silhouette or silhouette.get("width_ratio") is None:
        return ""
    return f"{lead}body {silhouette['width_ratio']:.2f}x the silhouette's width"


def hands_summary(report: dict, out: Path, fitted: dict[str, bool]) -> str:
    """The table printed at the end of ``mvmocap run --exp hands``."""
    rows = {"outputs": str(out), "videos": _videos(out)}
    for side, name in (("l", "left hand"), ("r", "right hand")):
        hand = report["hands"][side]
        rows[name] = (f"{100 * hand['keypoints_found_fraction']:.0f}% of keypoints found, reprojection "
                      f"{hand['mean_reprojection_error_px']:.2f} px, "
                      + ("fitted" if fitted[side] else "not fitted (seen too little)"))
    rows.update({f"time: {stage}": f"{seconds:.1f} s" for stage, seconds in report["timings_seconds"].items()})
    return summary_table("mvmocap run --exp hands: summary", rows)


def bodyhands_summary(keypoints3d: np.ndarray, out: Path, model: str) -> str:
    """``mvmocap run --exp body+hands``'s table: the share of body and hand keypoints found in the
    (F, 67, 4) triangulated ``keypoints3d``."""
    found = keypoints3d[..., 3] > 0
    return summary_table("mvmocap run --exp body+hands: summary", {
        "outputs": str(out), "model": model, "frames": str(len(found)),
        **{part: f"{100 * found[:, cols].mean():.0f}% of keypoints found" for part, cols in
           (("body", slice(0, 25)), ("left hand", slice(25, 46)), ("right hand", slice(46, 67)))}})


def multi_summary(report: dict, out: Path) -> str:
    """The table printed at the end of ``mvmocap run --exp multi``: one row per person."""
    association = report["association"]
    rows = {"outputs": str(out), "videos": _videos(out),
            "people": f"{association['people']} followed ({association['tracks']} tracks, "
                      f"{association['reidentified']} re-identified after an occlusion, "
                      f"{association['dropped_short_tracks']} short tracks dropped)"}
    for pid, person in report["people"].items():
        held = person["heldout"]["heldout_px"]
        first, last = person["frames"]
        split = association.get("split_at_gaps", {}).get(pid)
        rows[f"  person {pid}"] = (f"frames {first}-{last} (seen in {person['frames_seen']}, "
                                   f"{person['frames_interpolated']} interpolated), "
                                   f"{100 * person['keypoints_found_fraction']:.0f}% of keypoints found, held-out "
                                   + (f"{held:.1f} px" if held is not None else "n/a")
                                   + _width(person.get("silhouette"), ", ")
                                   + (f"; continues person {split['continues']} after {split['gap_frames']} frames "
                                      "unseen" if split else ""))
    rows.update({f"time: {stage}": f"{seconds:.1f} s" for stage, seconds in report["timings_seconds"].items()})
    return summary_table("mvmocap run --exp multi: summary", rows)


def sync_summary(result, path: Path, fps: float | None) -> str:
    """The table printed by ``mvmocap sync`` (``result``: a :class:`mvmocap.sync.SyncResult`):
    each camera's offset with its standard deviation, each pair's own estimate and weight, and
    the closure of every three cameras' pairs."""
    unit, scale = ("frames", fps) if fps else ("s", 1.0)
    rows = {"written to": str(path), "reference camera": result.reference}
    for name, c in result.cameras.items():
        spread = f" +- {c.uncertainty * scale:.2f}" if c.status == "estimated" else ""
        rows[f"  {name}"] = (f"{c.offset * scale:+.2f}{spread} {unit}  {c.status:<10} epipolar residual "
                             f"{c.residual_px:.2f} px (unshifted {c.residual_px_at_zero:.2f} px)")
    for p in result.pairs:
        rows[f"  pair {p.cameras[1]} - {p.cameras[0]}"] = (f"{p.delta * scale:+.2f} +- {p.sigma * scale:.2f} {unit}  "
                                                           f"weight {p.weight:.2f}")
    if result.closures:
        rows["largest closure error"] = (f"{result.largest_closure * scale:.2f} {unit} (pairs of "
                                         + ", ".join("-".join(names) for names, value in result.closures
                                                     if abs(value) == result.largest_closure) + ")")
    return summary_table(f"mvmocap sync: time offsets in {unit} (own clock + offset = reference clock)", rows)
