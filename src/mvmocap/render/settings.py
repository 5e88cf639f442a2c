"""The experiment's ``render`` section: what the videos of a run look like."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RenderSettings"]


@dataclass(frozen=True)
class RenderSettings:
    """The experiment's ``render`` section: the videos of a run.

    alpha: mesh opacity over the images
    overlay_width: width of the tiled multi-view overlay video, pixels
    ground: also render the body over a checkerboard floor, followed by a virtual camera
    ground_size: [width, height] of the ground video, pixels
    """

    alpha: float = 0.8
    overlay_width: int = 1920
    ground: bool = True
    ground_size: tuple[int, int] = (1280, 720)

    def __post_init__(self) -> None:
        if not 0 <= self.alpha <= 1:
            raise ValueError(f"alpha: must be in [0, 1], got {self.alpha!r}")
        if self.overlay_width < 16:
            raise ValueError(f"overlay_width: must be at least 16 pixels, got {self.overlay_width!r}")
        size = tuple(self.ground_size)
        if len(size) != 2 or min(size) < 16:
            raise ValueError(f"ground_size: must be [width, height], each at least 16 pixels, got {list(size)!r}")
        object.__setattr__(self, "ground_size", size)
