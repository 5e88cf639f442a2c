"""Run by the separate OpenSim environment (.venv-opensim, made by .ci/run: opensim needs NumPy 2,
mvmocap MediaPipe's NumPy 1): read a .trc and a .mot with OpenSim's own readers, print what they hold
as JSON (NaN as null)."""

import json
import sys

import opensim

trc = opensim.TimeSeriesTableVec3(sys.argv[1])
markers = [[[trc.getRowAtIndex(i)[j].get(k) for k in range(3)] for j in range(trc.getNumColumns())]
           for i in range(trc.getNumRows())]
mot = opensim.TimeSeriesTable(sys.argv[2])
angles = [[mot.getRowAtIndex(i)[j] for j in range(mot.getNumColumns())] for i in range(mot.getNumRows())]
storage = opensim.Storage(sys.argv[2])
print(json.dumps({"trc_labels": list(trc.getColumnLabels()), "trc_times": list(trc.getIndependentColumn()),
                  "trc_units": trc.getTableMetaDataAsString("Units"), "markers": markers,
                  "mot_labels": list(mot.getColumnLabels()), "mot_times": list(mot.getIndependentColumn()),
                  "angles": angles, "storage_rows": storage.getSize(), "storage_in_degrees": storage.isInDegrees()},
                 allow_nan=True).replace("NaN", "null"))
