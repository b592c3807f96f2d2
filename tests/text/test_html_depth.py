"""The nesting-depth check before extraction (`curation.text.extract._check_depth`): a page is refused exactly
when an element sits deeper than MAX_HTML_DEPTH, on pages of many shapes (siblings before and after the deep
path, text and comments between tags, SVG, unclosed tags), with the depth counted by walking the parsed tree
here, independently of the CSS queries the check makes."""

from __future__ import annotations

import random

import pytest
from resiliparse.parse.html import HTMLTree, NodeType

from curation.text.extract import _SCREEN_SELECTOR, MAX_HTML_DEPTH, HtmlTooDeep, _at_depth, _check_depth


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


def _nested(levels: int, before: int = 0, after: int = 0, rng: random.Random | None = None, gap: str = "") -> str:
    """``levels`` nested <div> in <body>; each level has ``before`` leaf siblings ahead of the next level and
    ``after`` behind it (random counts up to those with ``rng``), so that with ``before`` the deep path is
    never made of first children; ``gap`` (white space, a comment) goes between every two tags."""

    def count(most: int) -> int:
        return rng.randint(0, most) if rng else most

    opening = "".join(f"<div>{gap}{f'<i>a</i>{gap}' * count(before)}" for _ in range(levels))
    closing = "".join(f"{f'<b>z</b>{gap}' * count(after)}</div>{gap}" for _ in range(levels))
    return (
        f"<!DOCTYPE html><html><head><title>t</title></head><body>{gap}{opening}<p>deep text</p>{closing}</body></html>"
    )


def _refused(html: str) -> bool:
    try:
        _check_depth(HTMLTree.parse(html))
    except HtmlTooDeep:
        return True
    return False


@pytest.mark.parametrize("before,after", [(0, 0), (1, 0), (0, 2), (3, 1)])
@pytest.mark.parametrize("gap", ["", "\n  ", "<!-- c -->", "text"])
def test_refused_exactly_above_the_limit_whatever_the_siblings(before, after, gap):
    # html > body > div * levels > p: the <p> sits at depth levels + 3. Text and comments before a first
    # element child leave it the first child (":first-child" counts elements only)
    for levels in (MAX_HTML_DEPTH - 4, MAX_HTML_DEPTH - 3, MAX_HTML_DEPTH - 2, MAX_HTML_DEPTH + 5):
        html = _nested(levels, before, after, gap=gap)
        assert _max_depth(HTMLTree.parse(html)) == levels + 3
        assert _refused(html) == (levels + 3 > MAX_HTML_DEPTH), (levels, before, after, gap)


def test_svg_elements_count_as_levels():
    inner = "<g>" * (MAX_HTML_DEPTH - 4) + "<rect/>"  # html > body > svg > g... > rect: 512 elements deep
    for extra, refused in ((0, False), (1, True)):
        html = f"<html><body><svg>{'<g>' * extra}{inner}</svg></body></html>"
        assert (_max_depth(HTMLTree.parse(html)) > MAX_HTML_DEPTH) == refused
        assert _refused(html) == refused


def test_pages_deeper_than_the_first_query_go_on_to_the_second_and_pass():
    for levels in range(55, 75):
        html = _nested(levels, before=2, after=1, gap="\n")
        screened = HTMLTree.parse(html).document.query_selector(_SCREEN_SELECTOR) is not None
        assert screened == (levels + 3 >= 64), levels
        assert not _refused(html)


def test_random_shapes_agree_with_the_walked_depth():
    rng = random.Random(7)
    for _ in range(40):
        levels = rng.choice([rng.randint(1, 80), rng.randint(MAX_HTML_DEPTH - 12, MAX_HTML_DEPTH + 12)])
        gap = rng.choice(["", " ", "<!--x-->", "\n\t"])
        html = _nested(levels, before=rng.randint(0, 3), after=rng.randint(0, 3), rng=rng, gap=gap)
        assert _refused(html) == (_max_depth(HTMLTree.parse(html)) > MAX_HTML_DEPTH), levels


def test_the_selector_matches_exactly_when_the_tree_is_that_deep():
    rng = random.Random(11)
    for _ in range(30):
        html = _nested(rng.randint(1, 70), before=rng.randint(0, 2), after=rng.randint(0, 2), rng=rng, gap=" ")
        tree = HTMLTree.parse(html)
        deepest = _max_depth(tree)
        for depth in range(2, deepest + 3):
            assert (tree.document.query_selector(_at_depth(depth)) is not None) == (depth <= deepest), depth
    with pytest.raises(ValueError):
        _at_depth(1)


def test_unclosed_and_misnested_tags_are_counted_as_the_parser_nests_them():
    # the parser's tree decides, not the count of tags: 600 unclosed tags nest 602 elements deep, while 800
    # (<p><b> again and again) nest 7: each <p> closes the one before it, and a new <p> reopens only the last
    # three identical <b> (the parser keeps no more of them to reopen) before adding its own
    html = "<html><body>" + "<div><span><b>" * 200 + "x"
    assert _max_depth(HTMLTree.parse(html)) == 602
    assert _refused(html)
    shallow = "<html><body>" + "<p><b>" * 400 + "x"
    assert _max_depth(HTMLTree.parse(shallow)) == 7
    assert not _refused(shallow)
