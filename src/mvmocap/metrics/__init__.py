"""Accuracy figures: estimates against a truth or a reference (keypoints, people, a body fit,
camera rigs). Used by the benchmarks, the demo and the tests alike."""

from mvmocap.metrics.fit import fit_metrics
from mvmocap.metrics.keypoints import jitter_ratio, mpjpe
from mvmocap.metrics.people import score_people, visible_people
from mvmocap.metrics.rigs import pair_errors, people_errors, pose_errors, similarity_errors

__all__ = ["fit_metrics", "jitter_ratio", "mpjpe", "score_people", "visible_people", "pair_errors", "people_errors",
           "pose_errors", "similarity_errors"]
