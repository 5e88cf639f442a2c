"""Camera names that differ only in form between a calibration and the videos or keypoint folders.

EasyMocap, Pose2Sim, caliscope and FreeMoCap name the same camera ``01``, ``cam01``, ``cam1``,
``Cam1``, ``camera_1`` or ``cam_1``. :func:`match_names` pairs the names of one side with the
other's: the same name first, then the same letters and number (case, separators and leading
zeros aside), then the same number alone when every name has one and no number repeats on either
side. A name that two names of the other side would take is an error listing both sides, and so
is a partial match by form: when names of both sides are left over after a loose rule (``cam0``,
``cam1`` against ``cam01``, ``cam02``: numbered from 0 and from 1), nothing is guessed. Names
left over on one side only are not matched (the caller decides what that means).
"""

from __future__ import annotations

import re

__all__ = ["match_names", "NameMatchError"]


class NameMatchError(ValueError):
    """Two names of one side would take the same name of the other."""


def _form(name: str) -> tuple[str, int | None]:
    """(letters, number) of a name: lower case, separators dropped, the trailing number as an int."""
    flat = re.sub(r"[\s_\-.]", "", name.lower())
    found = re.fullmatch(r"(.*?)(\d+)", flat)
    return (found.group(1), int(found.group(2))) if found else (flat, None)


def match_names(known: list[str], found: list[str]) -> tuple[dict[str, str], str]:
    """``{found name: known name}`` for the found names that stand for a known one (module
    docstring) and how they were matched (``"same names"``, ``"same letters and number"`` or
    ``"same number"``; the loosest rule needed)."""
    pairs = {n: n for n in found if n in known}
    how = "same names"
    rest_found = [n for n in found if n not in pairs]
    rest_known = [n for n in known if n not in pairs.values()]
    for rule, key in (("same letters and number", _form), ("same number", lambda n: _form(n)[1])):
        if not rest_found or not rest_known:
            break
        if rule == "same number" and any(_form(n)[1] is None for n in rest_found + rest_known):
            break
        by_key: dict = {}
        for n in rest_known:
            by_key.setdefault(key(n), []).append(n)
        taken: dict[str, list[str]] = {}
        for n in rest_found:
            options = by_key.get(key(n), [])
            if len(options) > 1:
                raise NameMatchError(f"camera {n!r} could be any of {options}")
            if options:
                taken.setdefault(options[0], []).append(n)
        clash = {k: v for k, v in taken.items() if len(v) > 1}
        if clash:
            raise NameMatchError("; ".join(f"{v} would all be {k!r}" for k, v in clash.items()))
        if taken:
            how = rule
        pairs.update({v[0]: k for k, v in taken.items()})
        rest_found = [n for n in found if n not in pairs]
        rest_known = [n for n in known if n not in pairs.values()]
    if how != "same names" and rest_found and rest_known:
        raise NameMatchError(f"only some names match by their form ({how}): {sorted(set(pairs) - set(known))} "
                             f"but not {rest_found} (left: {rest_known})")
    return pairs, how
