"""The selection rule language: validated expressions over document and attribute columns.

A rule is a conjunction of clauses, e.g.::

    gopher_quality.pass and fineweb_quality.pass and lang == "en" and lang_score > 0.65

- Columns are bare names; ``a.b`` is sugar for the column ``a_b`` (so ``gopher_quality.pass`` reads
  ``gopher_quality_pass``; ``pass`` alone would be a Python keyword).
- Allowed: comparisons (``== != < <= > >=``, chained too), ``in`` / ``not in`` a list of constants,
  ``and``, ``or``, ``not``, parentheses, numbers, strings, ``true``/``false``/``null`` (or Python's spelling).
  Nothing else: no calls, no attribute access, no subscripts. Parsing uses ``ast`` and walks a
  whitelist, so a rule can never run code.
- A boolean column may stand alone as a clause (``is_dup_keep``).
- Null compares as false: a document whose column is null fails that clause.
- The top-level ``and`` splits the rule into clauses; they are applied in order, the funnel reports the
  documents and bytes surviving each, and a dropped document records the first clause it failed.

A YAML file may hold the clauses as a list, under the key ``rule``: ``rule: ["lang == 'en'", ...]``.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

from curation.errors import ConfigError

_CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
_COMPARE = {
    ast.Eq: "equal",
    ast.NotEq: "not_equal",
    ast.Lt: "less",
    ast.LtE: "less_equal",
    ast.Gt: "greater",
    ast.GtE: "greater_equal",
}


def _undot(expression: str) -> str:
    """Rewrite NAME.NAME (outside strings) to NAME_NAME with Python's tokenizer."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(expression).readline))
    except (tokenize.TokenError, IndentationError) as exc:
        raise ConfigError(f"rule {expression!r}: {exc}") from exc
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if (
            tok.type == tokenize.NAME
            and i + 2 < len(tokens)
            and tokens[i + 1].string == "."
            and tokens[i + 2].type == tokenize.NAME
        ):
            out.append(f"{tok.string}_{tokens[i + 2].string}")
            i += 3
            continue
        if tok.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT):
            out.append(tok.string)
        i += 1
    return " ".join(out)


@dataclass(frozen=True)
class Clause:
    text: str
    tree: ast.expr

    @property
    def columns(self) -> set[str]:
        return {node.id for node in ast.walk(self.tree) if isinstance(node, ast.Name) and node.id not in _CONSTANTS}


def _check(node: ast.AST, text: str) -> None:
    allowed = (
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.UnaryOp,
        ast.Not,
        ast.Compare,
        ast.Name,
        ast.Load,
        ast.Constant,
        ast.List,
        ast.Tuple,
        ast.In,
        ast.NotIn,
        ast.USub,
        *_COMPARE,
    )
    for child in ast.walk(node):
        if not isinstance(child, allowed):
            raise ConfigError(
                f"rule clause {text!r}: {type(child).__name__} is not allowed (only comparisons, and/or/not, in, names, constants)"
            )
        if (
            isinstance(child, ast.UnaryOp)
            and isinstance(child.op, ast.USub)
            and not isinstance(child.operand, ast.Constant)
        ):
            raise ConfigError(f"rule clause {text!r}: '-' applies to numbers only")
        if isinstance(child, (ast.List, ast.Tuple)) and not all(
            isinstance(e, (ast.Constant, ast.UnaryOp)) for e in child.elts
        ):
            raise ConfigError(f"rule clause {text!r}: lists may hold constants only")


def parse_rule(rule: str | list[str]) -> list[Clause]:
    """Clauses of a rule given as one expression, a list of expressions, or a YAML file path."""
    if isinstance(rule, str) and rule.endswith((".yaml", ".yml")):
        rule = _load_yaml(rule)
    expressions = [rule] if isinstance(rule, str) else list(rule)
    clauses: list[Clause] = []
    for expression in expressions:
        if not isinstance(expression, str) or not expression.strip():
            raise ConfigError(f"rule clause {expression!r}: expected a non-empty expression string")
        source = _undot(expression.strip())
        try:
            tree = ast.parse(source, mode="eval").body
        except SyntaxError as exc:
            raise ConfigError(f"rule {expression!r}: not a valid expression ({exc.msg})") from exc
        parts = tree.values if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And) else [tree]
        for part in parts:
            text = ast.unparse(part)
            _check(part, text)
            clauses.append(Clause(text, part))
    return clauses


def _load_yaml(path: str) -> list[str]:
    import yaml

    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"rule file not found: {path}")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(data, dict) or set(data) != {"rule"} or not isinstance(data["rule"], list):
        unknown = sorted(set(data) - {"rule"}) if isinstance(data, dict) else []
        hint = (
            f"unknown key(s) {', '.join(unknown)}"
            if unknown
            else "expected a mapping with one key 'rule' holding a list of clauses"
        )
        raise ConfigError(f"{path}: {hint}")
    return data["rule"]


def check_columns(clauses: list[Clause], available: dict[str, object]) -> None:
    """Fail before any work when a clause names a column that no input provides."""
    for clause in clauses:
        missing = sorted(clause.columns - set(available))
        if missing:
            raise ConfigError(
                f"rule clause {clause.text!r}: unknown column(s) {', '.join(missing)}; available: {', '.join(sorted(available))}"
            )


def evaluate(clause: Clause, table):
    """Boolean mask (nulls → false) of the clause over an Arrow table holding its columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def value(node):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -node.operand.value
        if isinstance(node, ast.Name):
            return _CONSTANTS[node.id] if node.id in _CONSTANTS else table.column(node.id)
        if isinstance(node, (ast.List, ast.Tuple)):
            return [value(e) for e in node.elts]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return pc.invert(truth(node.operand))
        if isinstance(node, ast.BoolOp):
            combine = pc.and_kleene if isinstance(node.op, ast.And) else pc.or_kleene
            result = truth(node.values[0])
            for other in node.values[1:]:
                result = combine(result, truth(other))
            return result
        if isinstance(node, ast.Compare):
            result, left = None, value(node.left)
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = value(right_node)
                if isinstance(op, (ast.In, ast.NotIn)):
                    step = pc.is_in(left, value_set=pa.array(right))
                    step = pc.invert(step) if isinstance(op, ast.NotIn) else step
                else:
                    step = getattr(pc, _COMPARE[type(op)])(left, right)
                result = step if result is None else pc.and_kleene(result, step)
                left = right
            return result
        raise ConfigError(f"unsupported expression {ast.unparse(node)!r}")

    def truth(node):
        result = value(node)
        if not isinstance(result, (pa.Array, pa.ChunkedArray)):
            return pa.array([bool(result)] * table.num_rows)
        if not pa.types.is_boolean(result.type):
            raise ConfigError(f"rule clause {clause.text!r}: {ast.unparse(node)!r} is {result.type}, not a condition")
        return result

    return pc.fill_null(truth(clause.tree), False)
