"""The nesting-depth check before extraction (`curation.text.extract._check_depth`): a page is refused exactly
when an element sits deeper than MAX_HTML_DEPTH, whatever the page's shape, with the depth counted by walking
the parsed tree here, independently of the CSS queries the check makes."""

from __future__ import annotations

import random

import pytest
from resiliparse.parse.html import HTMLTree, NodeType

from curation.text.extract import MAX_HTML_DEPTH, HtmlTooDeep, _at_depth, _check_depth


def _max_depth(tree) -> int:
    """Elements on the longest root-to-element path (``<html>`` counts 1), by walking the tree."""
    deepest, stack = 0, [(tree.document, 0)]
    while stack:
        node, depth = stack.pop()
        for child in node.child_nodes:
            if child.type == NodeType.ELEMENT:
                deepest = max(deepest, depth + 1)
                stack.append((child, depth + 1))
    return deepest


def _nested(levels: int, before: int = 0, after: int = 0, rng: random.Random | None = None) -> str:
    """``levels`` nested <div> in <body>; each level has ``before`` leaf siblings ahead of the next level and
    ``after`` behind it (random counts up to those with ``rng``), so that with ``before`` the deep path is
    never made of first children."""

    def count(most: int) -> int:
        return rng.randint(0, most) if rng else most

    opening = "".join(f"<div>{'<i>a</i>' * count(before)}" for _ in range(levels))
    closing = "".join(f"{'<b>z</b>' * count(after)}</div>" for _ in range(levels))
    return f"<html><head><title>t</title></head><body>{opening}<p>deep text</p>{closing}</body></html>"


def _refused(html: str) -> bool:
    try:
        _check_depth(HTMLTree.parse(html))
    except HtmlTooDeep:
        return True
    return False


@pytest.mark.parametrize("before,after", [(0, 0), (1, 0), (0, 2), (3, 1)])
def test_refused_exactly_above_the_limit_whatever_the_siblings(before, after):
    # html > body > div * levels > p: the <p> sits at depth levels + 3
    for levels in (MAX_HTML_DEPTH - 4, MAX_HTML_DEPTH - 3, MAX_HTML_DEPTH - 2, MAX_HTML_DEPTH + 5):
        html = _nested(levels, before, after)
        assert _max_depth(HTMLTree.parse(html)) == levels + 3
        assert _refused(html) == (levels + 3 > MAX_HTML_DEPTH), (levels, before, after)


def test_pages_around_the_first_query_depth_pass():
    # the short first query clears shallow pages; pages deeper than it go on to the full one and pass too
    for levels in range(55, 75):
        assert not _refused(_nested(levels, before=2, after=1))


def test_random_shapes_agree_with_the_walked_depth():
    rng = random.Random(7)
    for _ in range(40):
        levels = rng.choice([rng.randint(1, 80), rng.randint(MAX_HTML_DEPTH - 12, MAX_HTML_DEPTH + 12)])
        html = _nested(levels, before=rng.randint(0, 3), after=rng.randint(0, 3), rng=rng)
        assert _refused(html) == (_max_depth(HTMLTree.parse(html)) > MAX_HTML_DEPTH), levels


def test_the_selector_matches_exactly_when_the_tree_is_that_deep():
    rng = random.Random(11)
    for _ in range(30):
        tree = HTMLTree.parse(_nested(rng.randint(1, 40), before=rng.randint(0, 2), after=rng.randint(0, 2), rng=rng))
        deepest = _max_depth(tree)
        for depth in range(2, deepest + 3):
            assert (tree.document.query_selector(_at_depth(depth)) is not None) == (depth <= deepest), depth


def test_unclosed_and_misnested_tags_are_counted_as_the_parser_nests_them():
    # the parser's tree decides, not the count of tags: 600 unclosed tags nest 602 elements deep, while 800
    # (<p><b> again and again) nest 7: each <p> closes the one before it, and the parser keeps at most three
    # identical <b> open
    html = "<html><body>" + "<div><span><b>" * 200 + "x"
    assert _max_depth(HTMLTree.parse(html)) > MAX_HTML_DEPTH
    assert _refused(html)
    shallow = "<html><body>" + "<p><b>" * 400 + "x"
    assert _max_depth(HTMLTree.parse(shallow)) < 64
    assert not _refused(shallow)
