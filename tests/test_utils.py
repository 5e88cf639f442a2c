import socket
import subprocess
import sys

import numpy as np
import pytest

from mvmocap.render import VideoWriter
from mvmocap.utils import atomic_path, atomic_write_text, natural_sorted


def test_natural_order():
    assert natural_sorted(["cam10", "cam2", "cam1", "Cam3", "01", "a"]) == ["01", "a", "cam1", "cam2", "Cam3", "cam10"]


def test_interrupted_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out" / "000000.json"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in target.parent.iterdir()] == ["000000.json"]
    atomic_write_text(target, "new")
    assert target.read_text() == "new"


def test_atomic_path_keeps_the_extension_writers_rely_on(tmp_path):
    with atomic_path(tmp_path / "intri.yml", suffix=".yml") as tmp:
        assert tmp.name.endswith(".yml") and tmp.parent == tmp_path
        tmp.write_text("x")
    assert (tmp_path / "intri.yml").read_text() == "x"


def test_what_a_killed_writer_left_is_removed_by_the_next_write(tmp_path):
    """Issue 16 case 16: a kill -9 leaves the temporary file; the next process writing into that
    folder removes it, but never one that a live process (or another host) is writing."""
    target = tmp_path / "000000.json"
    script = ("import os, sys\nfrom mvmocap.utils import atomic_path\n"
              f"with atomic_path({str(target)!r}) as tmp:\n    tmp.write_text('half')\n    os._exit(9)\n")
    subprocess.run([sys.executable, "-c", script], check=False)
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].startswith(".000000.json.") and leftovers[0].endswith(".tmp.json")
    other_host = tmp_path / ".000000.json.elsewhere-1.abc.tmp.json"
    other_host.write_text("being written on another machine")
    with atomic_path(target) as tmp:
        live = sorted(p.name for p in tmp_path.iterdir())
        tmp.write_text("whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, other_host.name])
    assert len(live) == 2  # the killed process's file was gone before this one was made
    video = tmp_path / "videos" / "overlay.mp4"
    video.parent.mkdir()
    stale = video.parent / f".overlay.mp4.{socket.gethostname()}-999999999.video.tmp.mp4"  # no such process
    stale.write_bytes(b"half a video")
    with VideoWriter(video, 10) as writer:
        writer.write(np.zeros((8, 8, 3), np.uint8))
    assert video.is_file() and not stale.exists()
