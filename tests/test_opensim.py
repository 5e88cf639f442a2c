"""Issue 32: our TRC markers and .mot joint angles read by OpenSim's own readers (the ``opensim``
wheel from PyPI: ``TimeSeriesTableVec3`` for the TRC, ``TimeSeriesTable`` and ``Storage`` for the
.mot) hold the values we wrote. OpenSim needs NumPy 2 and mvmocap MediaPipe's NumPy 1, so the
reader runs in its own environment, ``.venv-opensim``, which ``.ci/run`` makes."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fitted_runs import make_run

from mvmocap.angles import read_mot
from mvmocap.bodymodels import load_body_model
from mvmocap.export import export_run, read_trc
from mvmocap.export.angles import export_angles

HERE = Path(__file__).parent
OPENSIM_PYTHON = HERE.parent / ".venv-opensim" / "bin" / "python"


def _opensim_works() -> bool:
    if not OPENSIM_PYTHON.is_file():
        return False
    return subprocess.run([str(OPENSIM_PYTHON), "-c", "import opensim"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _opensim_works(), reason="no .venv-opensim with the opensim wheel (.ci/run makes it: "
                                                  "python3.11 -m venv .venv-opensim && .venv-opensim/bin/pip install "
                                                  "opensim)")
def test_opensim_reads_our_markers_and_angles(tmp_path):
    out = make_run(tmp_path, load_body_model("anny"), seed=1, frames=20)
    export_run(out, tmp_path / "markers.trc")
    export_angles(out, to=tmp_path / "angles.mot")
    done = subprocess.run([str(OPENSIM_PYTHON), str(HERE / "opensim_read.py"), str(tmp_path / "markers.trc"),
                           str(tmp_path / "angles.mot")], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)  # OpenSim writes its opensim.log where it runs
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    points, names, rate, units = read_trc(tmp_path / "markers.trc")
    assert seen["trc_labels"] == names and seen["trc_units"] == units == "m"
    assert np.allclose(seen["trc_times"], np.arange(20) / rate, atol=1e-6)
    theirs = np.array([[[np.nan if v is None else v for v in point] for point in row] for row in seen["markers"]])
    assert theirs.shape == points.shape and np.isnan(points).any()  # some markers missing in some frames
    assert np.allclose(theirs, points, atol=1e-6, equal_nan=True)  # NaN in both there
    labels, values = read_mot(tmp_path / "angles.mot")
    assert seen["mot_labels"] == labels[1:] and np.allclose(seen["mot_times"], values[:, 0], atol=1e-9)
    assert np.allclose(np.array(seen["angles"]), values[:, 1:], atol=1e-6)
    assert seen["storage_rows"] == len(values) and seen["storage_in_degrees"] is True
