"""The same person across views and over time; the subject among bystanders; left/right swaps."""

from mvmocap.associate.handedness import assign_hands
from mvmocap.associate.people import People, PeopleSettings, split_long_gaps, track_people
from mvmocap.associate.subject import (
    SubjectChoice,
    SubjectSettings,
    choose_subject,
    cluster_frame_people,
    link_tracks,
    mirror_distance,
    packed_candidates,
)
from mvmocap.associate.swaps import fix_left_right, limb_groups, mirror_groups

__all__ = [
    "People",
    "PeopleSettings",
    "SubjectChoice",
    "SubjectSettings",
    "assign_hands",
    "choose_subject",
    "cluster_frame_people",
    "fix_left_right",
    "mirror_groups",
    "limb_groups",
    "link_tracks",
    "mirror_distance",
    "packed_candidates",
    "split_long_gaps",
    "track_people",
]
