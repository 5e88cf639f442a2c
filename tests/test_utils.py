import pytest

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
