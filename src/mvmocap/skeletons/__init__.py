"""Keypoint formats (body25, coco17, halpe26, blazepose33, hand21) and conversions."""

from mvmocap.skeletons.convert import DERIVED, conversion_plan, convert_keypoints
from mvmocap.skeletons.formats import (
    BLAZEPOSE33,
    BODY25,
    BODYHANDS,
    COCO17,
    FORMATS,
    HALPE26,
    HAND21,
    KeypointFormat,
    get_format,
    guess_format,
    register_format,
)

__all__ = [
    "BLAZEPOSE33",
    "BODY25",
    "BODYHANDS",
    "COCO17",
    "DERIVED",
    "FORMATS",
    "HALPE26",
    "HAND21",
    "KeypointFormat",
    "conversion_plan",
    "convert_keypoints",
    "get_format",
    "guess_format",
    "register_format",
]
