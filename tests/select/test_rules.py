import pyarrow as pa
import pytest

from curation.errors import ConfigError
from curation.select.rules import check_columns, evaluate, parse_rule

TABLE = pa.table(
    {
        "gopher_quality_pass": [True, True, False, None],
        "lang": ["en", "de", "en", "en"],
        "lang_score": [0.9, 0.99, 0.5, None],
        "source": ["a", "b", "c", "a"],
        "n_bytes": [100, 5, 100, 100],
    }
)


def _masks(rule):
    return [(c.text, evaluate(c, TABLE).to_pylist()) for c in parse_rule(rule)]


def test_clauses_split_on_top_level_and_with_dotted_names():
    masks = _masks('gopher_quality.pass and lang == "en" and lang_score > 0.65')
    assert masks == [
        ("gopher_quality_pass", [True, True, False, False]),  # null fails
        ("lang == 'en'", [True, False, True, True]),
        ("lang_score > 0.65", [True, True, False, False]),
    ]


def test_in_not_or_chains_and_negative_numbers():
    assert _masks("source in ['a', 'c']") == [("source in ['a', 'c']", [True, False, True, True])]
    assert _masks("not (n_bytes < 10 or lang == 'de')")[0][1] == [True, False, True, True]
    assert _masks("0.6 < lang_score <= 0.95")[0][1] == [True, False, False, False]
    assert _masks("lang_score > -1")[0][1] == [True, True, True, False]
    assert _masks("source not in ['a']")[0][1] == [False, True, True, False]


def test_a_list_and_a_yaml_file_are_rules_too(tmp_path):
    assert [c.text for c in parse_rule(["lang == 'en'", "n_bytes > 10 and source == 'a'"])] == [
        "lang == 'en'",
        "n_bytes > 10",
        "source == 'a'",
    ]
    rule = tmp_path / "rule.yaml"
    rule.write_text("rule:\n  - lang == 'en'\n  - gopher_quality.pass\n")
    assert [c.text for c in parse_rule(str(rule))] == ["lang == 'en'", "gopher_quality_pass"]
    rule.write_text("rule: [lang == 'en']\nextra: 1\n")
    with pytest.raises(ConfigError, match="unknown key"):
        parse_rule(str(rule))


@pytest.mark.parametrize(
    "bad", ["__import__('os').system('x')", "len(text) > 3", "x[0] == 1", "a.b.c", "lang ==", "", "lambda: 1"]
)
def test_anything_but_conditions_is_refused(bad):
    with pytest.raises(ConfigError):
        parse_rule(bad)


def test_unknown_columns_and_non_conditions_fail_clearly():
    with pytest.raises(ConfigError, match="unknown column.*langg"):
        check_columns(parse_rule("langg == 'en'"), {"lang": None})
    with pytest.raises(ConfigError, match="not a condition"):
        evaluate(parse_rule("n_bytes")[0], TABLE)
