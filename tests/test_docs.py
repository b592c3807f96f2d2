"""The docs cannot drift from the code.

Every ``curate ...`` command written in the README, ``docs/`` and ``jobs/README.md`` (code blocks and inline
code) must name commands that exist and options those commands take; every ``python benchmarks/X.py
--flag`` must name a script that exists and a flag it parses; every relative link must point at a file that
exists; every Python example must compile, import names that exist and call them with keywords they accept.
Running the long examples themselves is the job of the tests that cover each stage (``tests/test_api.py``
runs the API example's stages end to end).
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted(
    [ROOT / "README.md", ROOT / "jobs" / "README.md", ROOT / "benchmarks" / "README.md", *(ROOT / "docs").glob("*.md")]
)
DOCS = [p for p in DOCS if p.is_file()]

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FLAG = re.compile(r"^(--?[A-Za-z][\w-]*)")


def _code_blocks(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text)]


def _shell_lines(text: str) -> list[str]:
    """Shell lines of code blocks (continuations joined, comments cut) and inline code spans."""
    lines = []
    for language, body in _code_blocks(text):
        if language in ("python", "yaml", "json", "text"):
            continue
        for line in body.replace("\\\n", " ").splitlines():
            lines.append(line.split("  #")[0].strip())
    prose = FENCE.sub("", text)
    lines += [span.strip() for span in INLINE.findall(prose)]
    return lines


def _commands(lines: list[str], program: str) -> list[str]:
    """The ``program ...`` commands in ``lines``, one per command (``&&`` and ``;`` split)."""
    out = []
    for line in lines:
        for part in re.split(r"&&|;|\|\s", line):
            words = part.strip().split()
            for i, word in enumerate(words):
                if word == program or word.endswith("/" + program):
                    out.append(" ".join(words[i:]))
                    break
    return out


def _all_doc_commands(program: str) -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for command in _commands(_shell_lines(doc.read_text(encoding="utf-8")), program):
            found.append((str(doc.relative_to(ROOT)), command))
    return found


def _words(command: str) -> list[str]:
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    return [w.strip("[]()") for w in words]


@functools.cache
def _click_command():
    import typer

    from pipelines.cli.app import app

    return typer.main.get_command(app)


def _check_curate(command: str, root) -> str | None:
    """A problem with ``command`` against the real command tree, or None."""
    words = _words(command)[1:]
    current, path = root, ["curate"]
    while hasattr(current, "commands") and words:  # a group (typer carries its own click)
        word = words[0]
        group_option = next((p for p in current.params if word.split("=")[0] in getattr(p, "opts", [])), None)
        if group_option is not None:  # `curate --storage-options FILE ingest ...`: the group's own option
            takes_value = not getattr(group_option, "is_flag", False) and "=" not in word
            words = words[2 if takes_value else 1 :]
            continue
        if word in ("--help", "...", "") or word.startswith("-"):
            break
        alternatives = [w for w in re.split(r"\\?\|", word) if w]
        unknown = [w for w in alternatives if w not in current.commands]
        if unknown:
            return f"`{' '.join(path)}` has no command {unknown[0]!r}"
        if len(alternatives) > 1:
            return None  # `curate datarater train|score`: each exists; options are not attributable
        current, path, words = current.commands[word], [*path, word], words[1:]
    known = {"--help"}
    for param in current.params:
        known.update(getattr(param, "opts", [])), known.update(getattr(param, "secondary_opts", []))
    for word in words:
        match = FLAG.match(word.split("=")[0])
        if match and match.group(1) not in known:
            return f"`{' '.join(path)}` has no option {match.group(1)}"
    return None


CURATE_COMMANDS = _all_doc_commands("curate")
BENCHMARK_COMMANDS = [(doc, c) for doc, c in _all_doc_commands("python") if re.search(r"\S+\.py", c)]


def test_the_docs_name_commands_at_all():
    """The extraction itself works: the docs do show curate and benchmark commands."""
    assert len(CURATE_COMMANDS) > 40
    assert any("datarater train" in c for _, c in CURATE_COMMANDS)
    assert len(BENCHMARK_COMMANDS) > 5


@pytest.mark.parametrize(("doc", "command"), CURATE_COMMANDS, ids=[f"{d}:{c[:60]}" for d, c in CURATE_COMMANDS])
def test_curate_commands_in_the_docs_exist(doc, command):
    problem = _check_curate(command, _click_command())
    assert problem is None, f"{doc}: `{command}`: {problem}"


def test_the_check_catches_a_wrong_command_and_option():
    root = _click_command()
    assert _check_curate("curate datarater trian --out x", root) is not None
    assert _check_curate("curate ingest data.jsonl --out x --no-such-flag", root) is not None
    assert _check_curate("curate ingest data.jsonl --out x --shards 4", root) is None
    assert _check_curate("curate raters dsir fit --target t --out m", root) is None
    assert _check_curate("curate raters dsir fit --target t --out m --shards 4", root) is not None
    assert _check_curate("curate --storage-options s.yaml ingest s3://b/ --out x --shards 4", root) is None
    assert _check_curate("curate --storage-options s.yaml ingest s3://b/ --out x --no-such-flag", root) is not None


@pytest.mark.parametrize(("doc", "command"), BENCHMARK_COMMANDS, ids=[f"{d}:{c[:60]}" for d, c in BENCHMARK_COMMANDS])
def test_script_commands_in_the_docs_exist(doc, command):
    words = _words(command)
    script = next(w for w in words if w.endswith(".py"))
    path = ROOT / script
    if script.startswith(("/", "..")) or "X" in Path(script).stem:
        pytest.skip(f"not a script of this repository: {script}")
    assert path.is_file(), f"{doc}: `{command}`: no file {script}"
    source = path.read_text(encoding="utf-8")
    for word in words[words.index(script) + 1 :]:
        match = FLAG.match(word.split("=")[0])
        if match and match.group(1) != "--help":
            assert f'"{match.group(1)}"' in source, f"{doc}: `{command}`: {script} parses no {match.group(1)}"


def _links() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        prose = FENCE.sub("", doc.read_text(encoding="utf-8"))
        for target in LINK.findall(prose):
            if not re.match(r"^[a-z]+:", target) and not target.startswith("#"):
                found.append((str(doc.relative_to(ROOT)), target))
    return found


LINKS = _links()


@pytest.mark.parametrize(("doc", "target"), LINKS, ids=[f"{d}->{t}" for d, t in LINKS])
def test_relative_links_point_at_files(doc, target):
    path = (ROOT / doc).parent / target.split("#")[0]
    assert path.exists(), f"{doc}: link to {target}, which does not exist"


def _python_examples() -> list[tuple[str, int, str]]:
    return [
        (str(doc.relative_to(ROOT)), i, body)
        for doc in DOCS
        for i, (language, body) in enumerate(_code_blocks(doc.read_text(encoding="utf-8")))
        if language == "python"
    ]


PYTHON_EXAMPLES = _python_examples()


def _check_python(source: str) -> list[str]:
    """Problems: names imported that do not exist, calls of module functions with keywords they refuse."""
    tree = ast.parse(source)
    problems, modules = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            module = importlib.import_module(node.module)
            for alias in node.names:
                value = getattr(module, alias.name, None)
                if value is None:
                    try:
                        value = importlib.import_module(f"{node.module}.{alias.name}")
                    except ImportError:
                        problems.append(f"{node.module} has no {alias.name}")
                        continue
                modules[alias.asname or alias.name] = value
        elif isinstance(node, ast.Import):
            for alias in node.names:
                modules[alias.asname or alias.name] = importlib.import_module(alias.name)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in modules:
            owner = modules[func.value.id]
            if not inspect.ismodule(owner):
                continue
            target = getattr(owner, func.attr, None)
            if target is None:
                problems.append(f"{owner.__name__} has no {func.attr}")
                continue
        elif isinstance(func, ast.Name) and func.id in modules:
            target = modules[func.id]
        else:
            continue
        parameters = inspect.signature(target).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            continue
        problems += [f"{target.__name__}() takes no {k.arg}=" for k in node.keywords if k.arg not in parameters]
    return problems


@pytest.mark.parametrize(("doc", "index", "source"), PYTHON_EXAMPLES, ids=[f"{d}#{i}" for d, i, _ in PYTHON_EXAMPLES])
def test_python_examples_name_what_exists(doc, index, source):
    assert _check_python(source) == [], f"{doc}, Python block {index}"


def test_the_python_check_catches_a_wrong_name_and_keyword():
    assert _check_python("from curation import api\napi.ingets([], 'out')\n")
    assert _check_python("from curation import api\napi.signals('c', 'o', no_such_keyword=1)\n")
    assert _check_python("from curation import api\napi.signals('c', 'o', overwrite=True)\n") == []


def test_the_pipeline_readme_states_where_validate_defaults_differ():
    """pipelines/README.md names the validate section's defaults and curate validate's; both must be current."""
    from curation.validate.job import ValidateConfig
    from pipelines.config import ValidateSection

    text = " ".join((ROOT / "pipelines" / "README.md").read_text(encoding="utf-8").split())
    section = ValidateSection.model_fields
    stated = (
        f"`tokens: {section['tokens'].default}`, `seeds: {section['seeds'].default}`, "
        f"`size: {section['size'].default}`, `evaluations: {section['evaluations'].default}`, "
        f"`heldout_bytes: {section['heldout_bytes'].default}`"
    )
    assert stated in text
    command = ValidateConfig.__dataclass_fields__
    assert (
        f"`3`, `{command['size'].default}`, `{command['evaluations'].default}`, `{command['heldout_bytes'].default}`"
        in text
    )
    assert command["seeds"].default == 3
