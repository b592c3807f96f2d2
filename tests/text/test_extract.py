"""The extractor is checked before any work: a missing library is a one-line config error, not 0 documents."""

from __future__ import annotations

import sys

import pytest

from curation.errors import ConfigError
from curation.text.extract import HtmlExtractor


def test_check_passes_for_installed_extractors():
    for name in ("resiliparse", "trafilatura"):
        HtmlExtractor(name).check()


def test_check_fails_fast_when_the_library_cannot_be_imported(monkeypatch):
    monkeypatch.setitem(sys.modules, "trafilatura", None)  # makes `import trafilatura` raise ImportError
    with pytest.raises(ConfigError, match="extractor 'trafilatura' is not usable"):
        HtmlExtractor("trafilatura").check()


def test_unknown_extractor_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown extractor"):
        HtmlExtractor("boilerpipe")


def test_extracts_main_text():
    html = (
        "<html><body><nav>Home | About</nav><article><p>" + "Real article text. " * 20 + "</p></article></body></html>"
    )
    for name in ("resiliparse", "trafilatura"):
        text = HtmlExtractor(name).extract(html)
        assert "Real article text." in text, name
