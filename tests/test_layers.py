"""The package layering of ARCHITECTURE.md: a module never imports a layer below it in this list."""

import ast
from pathlib import Path

import mvmocap

# Each layer may import the layers before it, never one after it. associate and sync know nothing
# of bodies, fits or renders (they sit below bodymodels: people are keypoints to them); calib
# people uses both.
LAYERS = ["utils", "threads", "settings", "console", "geometry", "camera", "skeletons", "io", "detect", "triangulate",
          "associate", "sync", "bodymodels", "fit", "angles", "render", "calib", "metrics", "synthetic", "export",
          "view", "report", "pipeline", "batch", "api", "demo", "bench", "cli"]
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


def _module_imports() -> dict[str, set[str]]:
    """Module -> the mvmocap modules it imports anywhere in its file (a function's import too),
    its own package's ``__init__`` aside."""
    modules = {".".join(p.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__"): p
               for p in ROOT.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mvmocap"):
                found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                          for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("mvmocap")}
        graph[name] = {m for m in found if m in modules and m != name and not name.startswith(m + ".")}
    return graph


def test_no_import_cycle_even_inside_a_package():
    """Issue 31: pipeline.stages imported the runs that import it; batch.runner and batch.cluster
    each other. A cycle is a strongly connected set of modules (Tarjan's algorithm)."""
    graph = _module_imports()
    index, low, stack, cycles = {}, {}, [], []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = stack[stack.index(v):]
            del stack[stack.index(v):]
            if len(part) > 1:
                cycles.append(sorted(part))

    for module in graph:
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"


def _compiled(node: ast.FunctionDef) -> bool:
    """A Numba kernel (``@numba.njit``): plain arrays in, one per buffer, by necessity."""
    return any("njit" in ast.unparse(d) for d in node.decorator_list)


def test_functions_and_command_modules_stay_small():
    """Issue 31: no function over 80 lines (``build_parser`` had 277) or with more than 8
    parameters (``prepare_keypoints`` had 12; compiled kernels aside); every module of the command
    line under 250 lines (``cli/main.py`` had 781), each command group in its own."""
    long, wide = [], []
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
            if node.end_lineno - node.lineno >= 80:
                long.append(where)
            a = node.args
            names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg) if x is not None]
            if len([n for n in names if n not in ("self", "cls")]) > 8 and not _compiled(node):
                wide.append(where)
    assert not long, "functions over 80 lines:\n" + "\n".join(long)
    assert not wide, "functions with more than 8 parameters:\n" + "\n".join(wide)
    sizes = {p.name: len(p.read_text().splitlines()) for p in (ROOT / "cli").glob("*.py")}
    assert max(sizes.values()) < 250, sizes
