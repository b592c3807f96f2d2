"""report.html in a real headless browser (Debian's Chromium driven by Playwright): it renders with no
console or page errors, fetches nothing, shows every section and chart, and runs none of the markup that
hostile documents carry."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.pipeline_fixture import HOSTILE_TEXT

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HEADINGS = [
    "Summary",
    "Funnel",
    "Score distributions",
    "Removed and kept documents",
    "Proxy validation",
    "Raters",
    "Export",
]


@pytest.fixture(scope="module")
def page_in_browser(built_report):
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is absent (CI installs Debian's chromium in .ci/run); Playwright's own browsers are not downloadable here"
        )
    from playwright.sync_api import sync_playwright

    events = {"console": [], "pageerror": [], "requests": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda message: events["console"].append((message.type, message.text)))
            page.on("pageerror", lambda error: events["pageerror"].append(str(error)))
            page.on("request", lambda request: events["requests"].append(request.url))
            page.goto(built_report.html_path.resolve().as_uri(), wait_until="load")
            yield page, events
        finally:
            browser.close()


def test_page_loads_cleanly_and_fetches_nothing(page_in_browser, built_report):
    page, events = page_in_browser
    assert events["pageerror"] == []
    assert [m for m in events["console"] if m[0] in ("error", "warning")] == []
    own = built_report.html_path.resolve().as_uri()
    assert [url for url in events["requests"] if url != own and not url.startswith("data:")] == []
    assert page.title() == "Curation report: report-fixture"


def test_sections_and_charts_are_visible(page_in_browser):
    page, _ = page_in_browser
    for heading in HEADINGS:
        locator = page.locator("h2", has_text=heading)
        assert locator.count() == 1 and locator.is_visible(), heading
    for selector in ('svg[data-chart="funnel"]', 'svg[data-chart^="scores-"]', 'svg[data-chart^="validation-"]'):
        chart = page.locator(selector).first
        box = chart.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100, (selector, box)
        # Drawn, not an empty box: the chart has painted bars or lines.
        assert chart.locator("path").count() > 10


def test_hostile_markup_is_shown_as_text_and_never_runs(page_in_browser):
    page, _ = page_in_browser
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("script").count() == 0 and page.locator("main img").count() == 0
    for text in ("<script>window.__pwned = 3</script>", HOSTILE_TEXT):
        shown = page.locator("pre.sample", has_text=text)
        assert shown.count() == 1 and shown.is_visible(), text
