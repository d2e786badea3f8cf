"""The house: folders are layers, each imports only those below it, and nothing is circular."""

from __future__ import annotations

from pathlib import Path

import pytest
from importgraph import RANKS, cycles, edges, layer, layering_violations, modules

PACKAGE = Path(__file__).resolve().parents[2] / "scheduler"
#: The top-level modules: the package root, and the stable paths users and RQ name.
FACADES = {"scheduler", "scheduler.__main__", "scheduler.tasks", "scheduler.runner"}
MAX_LINES = 400


def test_every_module_lives_in_a_layer() -> None:
    """Only the facades sit at the top; every other module is in one of the layer folders."""
    stray = [m for m in modules(PACKAGE) if layer(m) is None and m not in FACADES]
    stray = [m for m in stray if m.removeprefix("scheduler.") not in RANKS]
    assert stray == []


def test_no_layer_imports_a_higher_or_sibling_layer() -> None:
    """core < store, worker < config < engine < cli, web: imports only go down."""
    assert layering_violations(edges(PACKAGE), "scheduler") == []


def test_no_import_circles() -> None:
    """No module reaches itself through imports, lazy ones included."""
    assert cycles(edges(PACKAGE)) == []


def test_no_module_over_the_size_limit() -> None:
    """Each module owns one thing: a few hundred lines at most."""
    sizes = {m: len(p.read_text().splitlines()) for m, p in modules(PACKAGE).items()}
    assert {m: n for m, n in sizes.items() if n > MAX_LINES} == {}


def test_the_facades_only_re_export() -> None:
    """``scheduler.tasks`` and ``scheduler.runner`` hold no code of their own."""
    for name in ("tasks", "runner"):
        text = (PACKAGE / f"{name}.py").read_text()
        assert "def " not in text
        assert "class " not in text


# -- the checker itself, on small trees -------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "scheduler"
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for folder in RANKS:
        if (root / folder).is_dir():
            (root / folder / "__init__.py").touch()
    return root


def test_the_checker_sees_an_upward_import_even_a_lazy_one(tmp_path: Path) -> None:
    """core importing the engine inside a function is still a violation."""
    root = _tree(
        tmp_path,
        {
            "core/model.py": "def f():\n    from scheduler.engine import loop\n",
            "engine/loop.py": "from scheduler.core.model import f\n",
        },
    )
    assert layering_violations(edges(root), "scheduler") == [
        "scheduler.core.model:2 (core, rank 0) imports scheduler.engine.loop (engine, rank 3)"
    ]


def test_the_checker_sees_a_sideways_import(tmp_path: Path) -> None:
    """store and worker share a rank: neither may import the other."""
    root = _tree(
        tmp_path, {"store/rows.py": "from ..worker import runner\n", "worker/runner.py": ""}
    )
    assert len(layering_violations(edges(root), "scheduler")) == 1


def test_the_checker_sees_a_circle_through_relative_imports(tmp_path: Path) -> None:
    """watcher -> reload -> watcher is a circle, whatever the import style."""
    root = _tree(
        tmp_path,
        {
            "engine/watcher.py": "from . import reload\n",
            "engine/reload.py": "import typing\nif typing.TYPE_CHECKING:\n"
            "    from scheduler.engine.watcher import W\n",
        },
    )
    assert cycles(edges(root)) == [["scheduler.engine.reload", "scheduler.engine.watcher"]]


@pytest.mark.parametrize("facade", ["scheduler.tasks", "scheduler.runner"])
def test_the_checker_refuses_a_layer_importing_a_facade(tmp_path: Path, facade: str) -> None:
    """Code inside the layers names the real module, never the stable re-export."""
    root = _tree(
        tmp_path,
        {"tasks.py": "", "runner.py": "", "engine/x.py": f"import {facade}\n"},
    )
    assert layering_violations(edges(root), "scheduler") == [
        f"scheduler.engine.x:1 imports the facade {facade}"
    ]
