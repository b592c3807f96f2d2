"""The layers point one way: ``jobs`` -> ``pipelines`` -> ``raters`` -> ``curation``. A module may import its
own layer and the ones below it, never one above (imports inside functions count too)."""

from __future__ import annotations

import ast

from tests.conftest import REPO

LAYERS = ["curation", "raters", "pipelines", "jobs"]  # lowest first


def imported_packages(source: str) -> set[str]:
    """Top-level names of every absolute import in ``source``, at any depth."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def upward_imports(layer: str, source: str) -> set[str]:
    above = set(LAYERS[LAYERS.index(layer) + 1 :])
    return imported_packages(source) & above


def test_no_layer_imports_one_above_it():
    violations = []
    for layer in LAYERS:
        for path in sorted((REPO / layer).rglob("*.py")):
            for name in sorted(upward_imports(layer, path.read_text(encoding="utf-8"))):
                violations.append(f"{path.relative_to(REPO)} imports {name}")
    assert not violations, "\n".join(violations)


def test_the_check_sees_imports_inside_functions():
    source = "import os\n\ndef f():\n    from raters.metarater.select import load_fit\n    import pipelines.cli\n"
    assert upward_imports("curation", source) == {"raters", "pipelines"}
    assert upward_imports("raters", source) == {"pipelines"}
    assert upward_imports("pipelines", source) == set()
    assert upward_imports("curation", "from . import sibling\nfrom curation.corpus import Corpus\n") == set()


def test_every_layer_is_a_package_here():
    assert [layer for layer in LAYERS if not (REPO / layer / "__init__.py").is_file()] == []
