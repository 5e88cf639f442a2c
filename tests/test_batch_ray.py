"""``mvmocap batch --ray``: on a Ray instance started on this machine, a trial's cameras detected as
separate tasks, a worker killed mid-batch retried, and every result equal to a serial run's."""

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from mvmocap.batch import BatchOptions, run_batch
from mvmocap.bodymodels import load_body_model
from mvmocap.detect import MARKER
from mvmocap.synthetic import make_capture, make_video_capture, write_capture
from mvmocap.synthetic.model_files import make_model_arrays, write_model_file

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'mvmocap[ray]'; make test installs it)")

pytestmark = pytest.mark.slow  # end-to-end: make test-fast leaves it out


def _kill_first(title: bytes, stop: threading.Event, killed: list) -> None:
    """SIGKILL the first process whose title starts with ``title`` (Ray names a busy worker
    ``ray::<task>``), once, after it has run for a moment."""
    while not stop.is_set():
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(title):
                time.sleep(0.5)  # a few frames into its camera
                try:
                    if not Path(f"/proc/{pid}/cmdline").read_bytes().startswith(title):
                        continue  # it finished meanwhile (a fast machine): wait for the next one
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    continue
                killed.append(int(pid))
                return
        time.sleep(0.02)


def test_ray_batch_with_a_killed_worker_equals_a_serial_batch(tmp_path):
    """The distributed session lies under a path with spaces and non-ASCII letters."""
    serial = tmp_path / "serial"
    write_capture(make_capture(frames=10, cameras=3, seed=1, image_size=(1280, 720)), serial / "keypoints_trial")
    make_video_capture(serial / "video_trial", load_body_model(), frames=20, cameras=3, image_size=(640, 360), seed=5)
    distributed = tmp_path / "distribué ü" / "séance 1"  # issue 30: spaces and other scripts on Ray too
    shutil.copytree(serial, distributed)
    model = f"smpl:{write_model_file(make_model_arrays('smpl'), tmp_path / 'SMPL_NEUTRAL.pkl', 'pkl')}"
    options = BatchOptions(model=model)
    expected = run_batch(serial, options=options)
    assert [r.status for r in expected] == ["done", "done"]

    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_first, args=(b"ray::_detect_task", stop, killed), daemon=True)
    killer.start()
    try:
        results = run_batch(distributed, options=options, ray="local")
    finally:
        stop.set()
        killer.join()
    assert killed, "no detection task was seen running: the trial's cameras were not detected as Ray tasks"
    assert [r.status for r in results] == ["done", "done"]
    for trial in ("keypoints_trial", "video_trial"):
        for name in ("keypoints3d", "poses", "Th"):
            np.testing.assert_array_equal(np.load(distributed / trial / "output" / "params.npz")[name],
                                          np.load(serial / trial / "output" / "params.npz")[name])
    cameras = distributed / "video_trial" / "output" / "keypoints2d"
    assert all((cameras / c / MARKER).is_file() for c in ("cam1", "cam2", "cam3"))
    assert not ray.is_initialized()  # the instance started for the batch is shut down
