"""Security properties of the code base: no model or config file can run code, and servers stay on loopback.

- Every weight file is read as ``safetensors`` through one function that never falls back to unpickling;
  the source has no ``torch.load`` without ``weights_only=True``, no ``pickle.load``, no ``numpy.load`` with
  ``allow_pickle``, no unsafe YAML loader, no ``eval``/``exec``.
- YAML configs (pipelines, rules, DataRater settings) are read with ``safe_load``: a ``!!python`` tag is an
  error, not a call. Rules are parsed with ``ast`` against a whitelist: a call is an error.
- The MLflow server ``jobs/`` starts listens on 127.0.0.1 and refuses another interface unless told.
"""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from curation.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("curation", "raters", "jobs", "pipelines")
# The one pickle in the code base: a producer object the driver of the same job pickles for its own tasks.
PICKLE_ALLOWED = {("curation/attribute_stage.py", "loads")}


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                yield node, f"{func.value.id}.{func.attr}"
            elif isinstance(func, ast.Name):
                yield node, func.id


def _keyword(node: ast.Call, name: str):
    for keyword in node.keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            return keyword.value.value
    return None


def source_findings() -> list[str]:
    """Every call in the shipped packages that could run code from data."""
    findings = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            for node, name in _calls(ast.parse(path.read_text(encoding="utf-8"))):
                line = f"{where}:{node.lineno} {name}"
                if name == "torch.load" and _keyword(node, "weights_only") is not True:
                    findings.append(f"{line} without weights_only=True")
                elif name in ("pickle.load", "pickle.loads") and (where, name.split(".")[1]) not in PICKLE_ALLOWED:
                    findings.append(line)
                elif name in ("np.load", "numpy.load") and _keyword(node, "allow_pickle"):
                    findings.append(f"{line} with allow_pickle")
                elif name in ("yaml.load", "yaml.unsafe_load", "yaml.full_load", "yaml.full_load_all"):
                    findings.append(line)
                elif name in ("eval", "exec"):
                    findings.append(line)
    return findings


def test_source_never_loads_code_from_data():
    assert source_findings() == []


def test_the_scan_finds_what_it_looks_for(tmp_path, monkeypatch):
    """The scan itself can fail: a planted unsafe call in a scanned package is reported."""
    package = tmp_path / "jobs"
    package.mkdir()
    (package / "bad.py").write_text(
        "import torch, yaml\ntorch.load('m.pt')\nyaml.load(open('c.yaml'))\neval('1')\n", encoding="utf-8"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGES", ("jobs",))
    assert [f.split(" ", 1)[1] for f in source_findings()] == [
        "torch.load without weights_only=True",
        "yaml.load",
        "eval",
    ]


class _TouchOnUnpickle:
    """Unpickling this object creates a file: proof that a loader ran code from a weights file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickle_renamed_as_weights_is_refused_without_running(tmp_path):
    from curation.proxy.checkpoint import load_tensors

    marker = tmp_path / "pwned"
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(pickle.dumps(_TouchOnUnpickle(marker)))
    with pytest.raises(ConfigError, match="model.safetensors: not a readable safetensors file"):
        load_tensors(weights)
    assert not marker.exists()


def test_a_truncated_weights_file_is_one_error(tmp_path):
    import torch

    from curation.proxy.checkpoint import load_tensors, save_tensors

    weights = tmp_path / "w.safetensors"
    save_tensors({"w": torch.ones(64, 64)}, weights)
    assert load_tensors(weights)["w"].shape == (64, 64)
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(ConfigError, match="w.safetensors: not a readable safetensors file"):
        load_tensors(weights)


def _python_tag(marker: Path) -> str:
    return f"!!python/object/apply:pathlib.Path.touch [{str(marker)!r}]"


def test_pipeline_config_tags_do_not_run(tmp_path):
    from pipelines.config import load_pipeline_config

    marker = tmp_path / "pwned"
    config = tmp_path / "p.yaml"
    config.write_text(f"name: {_python_tag(marker)}\nworkdir: w\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="p.yaml: not readable YAML"):
        load_pipeline_config(config)
    assert not marker.exists()


def test_rule_file_and_datarater_settings_tags_do_not_run(tmp_path):
    from curation.select.rules import parse_rule
    from raters.datarater.training import load_config

    marker = tmp_path / "pwned"
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"rule:\n  - {_python_tag(marker)}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="rules.yaml: not valid YAML"):
        parse_rule(str(rules))
    settings = tmp_path / "datarater.yaml"
    settings.write_text(f"outer_steps: {_python_tag(marker)}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="datarater.yaml: cannot read the DataRater config"):
        load_config(settings, {})
    assert not marker.exists()


@pytest.mark.parametrize(
    "rule",
    [
        "__import__('os').system('true')",
        "().__class__ == 'x'",
        "[c for c in ()] == []",
        "(lambda: 1)() == 1",
        "lang[0] == 'e'",
    ],
)
def test_a_rule_cannot_run_code(rule):
    from curation.select.rules import parse_rule

    with pytest.raises(ConfigError, match="rule"):
        parse_rule(rule)


def test_mlflow_server_listens_on_loopback_unless_told(tmp_path):
    from jobs.mlflow_server import TrackingServer, server_command

    server = TrackingServer(tmp_path)
    assert server.host == "127.0.0.1" and server.uri.startswith("http://127.0.0.1:")
    command = server_command(tmp_path, server.host, server.port)
    assert command[command.index("--host") + 1] == "127.0.0.1"
    with pytest.raises(ValueError, match="refusing to serve MLflow on 0.0.0.0"):
        TrackingServer(tmp_path, host="0.0.0.0")
    assert TrackingServer(tmp_path, host="0.0.0.0", allow_remote=True).uri.startswith("http://127.0.0.1:")
    refused = subprocess.run(
        [sys.executable, "-m", "jobs.mlflow_server", "--store", str(tmp_path), "--host", "0.0.0.0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().startswith("error: refusing to serve MLflow on 0.0.0.0")
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "mlflow.db").exists()
