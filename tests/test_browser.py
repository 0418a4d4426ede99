"""Every page of the built book in headless Chromium, with the network blocked.

The site is served on 127.0.0.1; every request that would leave it is aborted and
recorded. Each page must then draw every plotly figure, typeset every equation, render
every saved widget, log no console error and request nothing from elsewhere. A
screenshot of each page and a JSON report (sizes, counts, findings) are written under
the build folder: ``screenshots/`` and ``browser-report.json``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import TimeoutError as RenderTimeout

# Chromium's own background traffic is off, so every request seen comes from the page.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
RENDER_TIMEOUT_MS = 30_000

_STATE_JS = """() => {
  const figures = [...document.querySelectorAll('.plotly-graph-div')];
  const math = [...document.querySelectorAll('.math')];
  const widgets = [...document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]')];
  return {
    figures: figures.length,
    figures_drawn: figures.filter(d => d._fullLayout && d.querySelector('.main-svg')).length,
    math: math.length,
    math_typeset: math.filter(m => m.querySelector('mjx-container')
                                   && !m.querySelector('mjx-merror')).length,
    widgets: widgets.length,
    widgets_rendered: widgets.filter(s => s.previousElementSibling
      && s.previousElementSibling.querySelector('.jupyter-widgets')).length,
  };
}"""
_READY_JS = ("() => { const s = (" + _STATE_JS + ")(); return s.math === s.math_typeset"
             " && s.figures === s.figures_drawn && s.widgets === s.widgets_rendered; }")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site without logging every request to the test's output."""

    def log_message(self, format: str, *args: object) -> None:
        """Log nothing: the test records requests itself."""


def _pages(html_dir: Path) -> list[str]:
    return sorted(p.relative_to(html_dir).as_posix() for p in html_dir.rglob("*.html")
                  if not p.relative_to(html_dir).parts[0].startswith("_"))


@pytest.fixture(scope="module")
def site(built_book: tuple[Path, str]) -> Iterator[tuple[Path, str]]:
    """The built HTML served on a free local port: (folder, base URL)."""
    html_dir = built_book[0] / "html"
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield html_dir, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (installed by .ci/run) or $CHROMIUM, driven by playwright."""
    chromium = shutil.which(os.environ.get("CHROMIUM", "chromium"))
    assert chromium, "chromium is not installed: `apt-get install -y chromium` (.ci/run does)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _visit(page: Page, base: str, html_dir: Path, name: str, shots: Path) -> dict:
    findings: dict = {"page": name, "left_site": [], "console_errors": [], "http_errors": []}
    loaded: set[str] = set()

    def on_response(response: object) -> None:
        url = response.url  # type: ignore[attr-defined]
        # Chromium asks every site for a favicon by itself; the book declares none.
        if response.status >= 400 and urlsplit(url).path != "/favicon.ico":  # type: ignore[attr-defined]
            findings["http_errors"].append(f"{response.status} {url}")  # type: ignore[attr-defined]
        elif url.startswith(base):
            loaded.add(unquote(urlsplit(url).path))

    def on_console(msg: object) -> None:
        if msg.type == "error" and "favicon.ico" not in msg.location.get("url", ""):  # type: ignore[attr-defined]
            findings["console_errors"].append(msg.text)  # type: ignore[attr-defined]

    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda err: findings["console_errors"].append(f"uncaught: {err}"))
    page.goto(base + name, wait_until="load")
    try:
        page.wait_for_function(_READY_JS, timeout=RENDER_TIMEOUT_MS)
    except RenderTimeout as err:  # the counts below say what did not render
        findings["not_ready"] = str(err).splitlines()[0]
    page.wait_for_load_state("networkidle")
    findings.update(page.evaluate(_STATE_JS))
    shot = shots / Path(name).with_suffix(".png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=shot, full_page=True)
    files = [html_dir / p.lstrip("/") for p in loaded]
    findings["html_kb"] = round((html_dir / name).stat().st_size / 1024, 1)
    findings["loaded_kb"] = round(sum(f.stat().st_size for f in files if f.is_file()) / 1024, 1)
    return findings


def test_every_page_renders_offline(site: tuple[Path, str], browser: Browser) -> None:
    html_dir, base = site
    build = html_dir.parent
    shots = build / "screenshots"
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    left_site: list[str] = []

    def block_outside(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(base) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()  # type: ignore[attr-defined]
        else:
            left_site.append(url)
            route.abort()  # type: ignore[attr-defined]

    context.route("**/*", block_outside)
    report = []
    for name in _pages(html_dir):
        page = context.new_page()
        before = len(left_site)
        findings = _visit(page, base, html_dir, name, shots)
        findings["left_site"] = left_site[before:]
        report.append(findings)
        page.close()
    context.close()
    (build / "browser-report.json").write_text(json.dumps(report, indent=1))

    problems = []
    for f in report:
        for key in ("left_site", "console_errors", "http_errors"):
            problems += [f"{f['page']}: {key}: {item}" for item in f[key]]
        for what, done in (("figures", "figures_drawn"), ("math", "math_typeset"),
                           ("widgets", "widgets_rendered")):
            if f[done] != f[what]:
                problems.append(f"{f['page']}: {f[done]} of {f[what]} {what} rendered")
    assert not problems, "\n".join(problems)
    # The checks above are only meaningful if the book has figures, math and widgets.
    assert all(sum(f[k] for f in report) for k in ("figures", "math", "widgets")), report
