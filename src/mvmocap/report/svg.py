"""Plots as inline SVG for the run report: line charts over time (gaps where a value is missing,
shaded stretches, a band about a mean) and a map of paths on the floor. No plotting library, no
script: each plot is one ``<svg class="plot" data-plot=NAME>`` element whose data attributes give
its mapping (``data-x0``, ``data-y0``: the data at the plot area's origin; ``data-sx``, ``data-sy``:
pixels per unit; ``data-left``, ``data-top``: where the plot area starts), so a test can put the
drawn data back on the screen."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

import numpy as np

from mvmocap.utils import true_runs

__all__ = ["COLOURS", "SIDE_COLOURS", "Chart", "Series", "floor_map", "line_chart"]

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f")
SIDE_COLOURS = {"l": "#1f77b4", "r": "#d62728"}
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 12, 40, 30


@dataclass
class Series:
    """One line: ``y`` (N,) over ``x`` (N,) (NaN leaves a gap), optionally with ``spread`` (N,):
    a band of +- that much about it."""

    label: str
    x: np.ndarray
    y: np.ndarray
    colour: str
    spread: np.ndarray | None = None
    dashed: bool = False


@dataclass
class _Frame:
    """The mapping of data to the plot area."""

    x0: float
    x1: float
    y0: float
    y1: float
    width: int
    height: int
    extra: dict = field(default_factory=dict)

    @property
    def sx(self) -> float:
        return (self.width - _LEFT - _RIGHT) / (self.x1 - self.x0)

    @property
    def sy(self) -> float:
        return (self.height - _TOP - _BOTTOM) / (self.y1 - self.y0)

    def px(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _LEFT + (x - self.x0) * self.sx, self.height - _BOTTOM - (y - self.y0) * self.sy

    def attributes(self) -> str:
        return (f'data-x0="{self.x0:.6g}" data-y0="{self.y0:.6g}" data-sx="{self.sx:.6g}" data-sy="{self.sy:.6g}" '
                f'data-left="{_LEFT}" data-top="{self.height - _BOTTOM}"')


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    step = 10 ** math.floor(math.log10(max((hi - lo) / count, 1e-12)))
    for factor in (1, 2, 2.5, 5, 10):
        if (hi - lo) / (step * factor) <= count:
            step *= factor
            break
    return [float(v) for v in np.arange(math.ceil(lo / step) * step, hi + 1e-9 * step, step)]


def _limits(values: list[np.ndarray], pad: float = 0.05) -> tuple[float, float]:
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.array([])
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo < 1e-9:
        lo, hi = lo - 1.0, hi + 1.0
    return lo - pad * (hi - lo), hi + pad * (hi - lo)


def _polylines(frame: _Frame, x: np.ndarray, y: np.ndarray, style: str) -> str:
    """One ``<polyline>`` per run of finite values (a gap where ``y`` is NaN)."""
    ok = np.isfinite(y) & np.isfinite(x)
    out = []
    for start, stop in true_runs(ok):
        px, py = frame.px(x[start:stop], y[start:stop])
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
        if stop - start == 1:
            out.append(f'<circle cx="{px[0]:.1f}" cy="{py[0]:.1f}" r="1.5" {style}/>')
        else:
            out.append(f'<polyline points="{points}" fill="none" {style}/>')
    return "".join(out)


def _axes(frame: _Frame, title: str, x_label: str, y_label: str) -> list[str]:
    w, h = frame.width, frame.height
    parts = [f'<text x="{_LEFT}" y="16" class="title">{escape(title)}</text>',
             f'<rect x="{_LEFT}" y="{_TOP}" width="{w - _LEFT - _RIGHT}" height="{h - _TOP - _BOTTOM}" class="area"/>']
    for t in _nice_ticks(frame.y0, frame.y1):
        _, py = frame.px(np.array([frame.x0]), np.array([t]))
        parts.append(f'<line x1="{_LEFT}" x2="{w - _RIGHT}" y1="{py[0]:.1f}" y2="{py[0]:.1f}" class="grid"/>'
                     f'<text x="{_LEFT - 4}" y="{py[0] + 4:.1f}" class="tick" text-anchor="end">{t:g}</text>')
    for t in _nice_ticks(frame.x0, frame.x1, 8):
        px, _ = frame.px(np.array([t]), np.array([frame.y0]))
        parts.append(f'<text x="{px[0]:.1f}" y="{h - _BOTTOM + 14}" class="tick" text-anchor="middle">{t:g}</text>')
    parts.append(f'<text x="{w - _RIGHT}" y="{h - 4}" class="label" text-anchor="end">{escape(x_label)}</text>')
    parts.append(f'<text x="4" y="{_TOP - 4}" class="label">{escape(y_label)}</text>')
    return parts


def _legend(series: list[Series]) -> str:
    """One row under the title, left to right."""
    parts, x = [], _LEFT
    for s in series:
        if s.label:
            parts.append(f'<rect x="{x}" y="24" width="12" height="4" fill="{s.colour}"/>'
                         f'<text x="{x + 16}" y="30" class="tick">{escape(s.label)}</text>')
            x += 7 * len(s.label) + 30
    return "".join(parts)


def _clip(name: str, frame: _Frame) -> tuple[str, str]:
    """A clip path of the plot area (lines past the y range end at its edge) and its reference."""
    ident = "clip-" + "".join(c if c.isalnum() else "-" for c in name)
    return (f'<clipPath id="{ident}"><rect x="{_LEFT}" y="{_TOP}" width="{frame.width - _LEFT - _RIGHT}" '
            f'height="{frame.height - _TOP - _BOTTOM}"/></clipPath>', f'clip-path="url(#{ident})"')


@dataclass(frozen=True)
class Chart:
    """How a line chart looks: its title, axis labels, size in pixels and y range (None: the data's)."""

    title: str
    x_label: str
    y_label: str
    width: int = 640
    height: int = 200
    y_range: tuple[float, float] | None = None


def line_chart(name: str, series: list[Series], chart: Chart, *, stretches: list[tuple[float, float]] = ()) -> str:
    """An SVG line chart of ``series``; ``stretches`` (x from, x to) are shaded as problems."""
    width, height, y_range = chart.width, chart.height, chart.y_range
    xs = [s.x for s in series] or [np.array([0.0, 1.0])]
    x0, x1 = _limits(xs, pad=0.0)
    ys = [s.y for s in series] + [s.y + s.spread for s in series if s.spread is not None] \
        + [s.y - s.spread for s in series if s.spread is not None]
    y0, y1 = y_range if y_range is not None else _limits(ys)
    frame = _Frame(x0, x1, y0, y1, width, height)
    parts = _axes(frame, chart.title, chart.x_label, chart.y_label)
    clip, clipped = _clip(name, frame)
    parts.append(clip + f"<g {clipped}>")  # a stretch or a line past the plot area ends at its edge
    for a, b in stretches:
        (pa, pb), _ = frame.px(np.array([a, b]), np.array([y0, y0]))
        parts.append(f'<rect x="{pa:.1f}" y="{_TOP}" width="{max(pb - pa, 1.5):.1f}" '
                     f'height="{height - _TOP - _BOTTOM}" class="problem"/>')
    for s in series:
        if s.spread is not None:
            ok = np.isfinite(s.y) & np.isfinite(s.spread)
            top, bottom = frame.px(s.x[ok], (s.y + s.spread)[ok]), frame.px(s.x[ok], (s.y - s.spread)[ok])
            points = [f"{a:.1f},{b:.1f}" for a, b in zip(*top, strict=True)] + \
                     [f"{a:.1f},{b:.1f}" for a, b in zip(bottom[0][::-1], bottom[1][::-1], strict=True)]
            parts.append(f'<polygon points="{" ".join(points)}" fill="{s.colour}" fill-opacity="0.15"/>')
    for s in series:
        dash = ' stroke-dasharray="4 3"' if s.dashed else ""
        parts.append(_polylines(frame, s.x, s.y, f'stroke="{s.colour}" stroke-width="1.6"{dash}'))
    parts.append("</g>" + _legend(series))
    return (f'<svg class="plot" data-plot="{escape(name)}" {frame.attributes()} xmlns="http://www.w3.org/2000/svg" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">{"".join(parts)}</svg>')


def floor_map(name: str, paths: list[Series], cameras: list[tuple[str, float, float]], *, title: str,
              size: int = 420) -> str:
    """Paths on the floor seen from above (x right, y up, metres, equal scale) and the cameras
    (name, x, y) as squares."""
    xs = [p.x for p in paths] + [np.array([c[1] for c in cameras])]
    ys = [p.y for p in paths] + [np.array([c[2] for c in cameras])]
    (x0, x1), (y0, y1) = _limits(xs, 0.08), _limits(ys, 0.08)
    area_w, area_h = size - _LEFT - _RIGHT, size - _TOP - _BOTTOM
    scale = min(area_w / (x1 - x0), area_h / (y1 - y0))  # equal pixels per metre on both axes
    cx, cy, half_w, half_h = (x0 + x1) / 2, (y0 + y1) / 2, area_w / scale / 2, area_h / scale / 2
    frame = _Frame(cx - half_w, cx + half_w, cy - half_h, cy + half_h, size, size)
    parts = _axes(frame, title, "x (m)", "y (m)")
    for name_, x, y in cameras:
        px, py = frame.px(np.array([x]), np.array([y]))
        parts.append(f'<rect x="{px[0] - 4:.1f}" y="{py[0] - 4:.1f}" width="8" height="8" class="camera"/>'
                     f'<text x="{px[0] + 6:.1f}" y="{py[0] - 6:.1f}" class="tick">{escape(name_)}</text>')
    for p in paths:
        parts.append(_polylines(frame, p.x, p.y, f'stroke="{p.colour}" stroke-width="2.5"'))
    parts.append(_legend(paths))
    return (f'<svg class="plot" data-plot="{escape(name)}" {frame.attributes()} xmlns="http://www.w3.org/2000/svg" '
            f'width="{size}" height="{size}" viewBox="0 0 {size} {size}">{"".join(parts)}</svg>')
