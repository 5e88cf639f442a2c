"""The package layering of ARCHITECTURE.md: a module never imports a layer below it in this list."""

import ast
from pathlib import Path

import mvmocap

# Each layer may import the layers before it, never one after it.
# associate knows nothing of bodies (it sits below bodymodels); calib people uses it.
LAYERS = ["utils", "settings", "console", "metrics", "geometry", "camera", "skeletons", "io", "detect", "triangulate",
          "associate", "bodymodels", "fit", "render", "calib", "synthetic", "sync", "export", "view", "pipeline",
          "batch", "bench", "demo", "cli"]
ROOT = Path(mvmocap.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mvmocap."):
            names.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[1] for a in node.names if a.name.startswith("mvmocap."))
    return names


def test_no_module_imports_a_layer_above_it():
    wrong = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        own = rel.parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        assert own in LAYERS, f"{rel}: package {own!r} is not in the layer list; add it"
        for name in _imports(path):
            if name in LAYERS and LAYERS.index(name) > LAYERS.index(own):
                wrong.append(f"{rel} imports mvmocap.{name}")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)
