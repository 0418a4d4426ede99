"""Every page of the built book in headless Chromium, at desktop and at phone width.

The site is served on 127.0.0.1; every request that would leave it is aborted and
recorded. Each page is opened once per viewport (``VIEWPORTS``) and must then draw every
plotly figure, typeset every equation, render every saved widget, log no console error,
request nothing from elsewhere, and show no figure (plotly, SVG, image) wider than the
screen; a table may be wider only inside a box that scrolls sideways. A page that only
redirects (``index.html``) is not opened: its target is, and must be a page of the site.
On every page, the root page (the introduction) included, each plotly figure outside a
widget is a numbered, captioned figure (``{glue:figure}``: ``<figure>`` with a
``<figcaption>`` "Fig. N"; Sphinx numbers the root page's figures first). A JSON report
(sizes, counts, findings) is written under the build folder (a temporary folder),
``browser-report.json``; with ``RHMLIB_SCREENSHOTS=1``, full-page screenshots too
(``screenshots/<viewport>/``, their paths printed: for people, and a third of the test's
time, so not by default).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import posixpath
import re
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
# A desktop window and a phone held upright (390 px: iPhone 12-15 in CSS pixels).
SCREENSHOTS = bool(os.environ.get("RHMLIB_SCREENSHOTS"))
VIEWPORTS = {"desktop": {"width": 1200, "height": 900}, "phone": {"width": 390, "height": 844}}
# Generous: a page renders in seconds, but the test must survive a machine busy with
# other work (tests run under `nice`); a page that truly hangs still fails.
RENDER_TIMEOUT_MS = 120_000
NAVIGATION_TIMEOUT_MS = 300_000

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

# Layout of the rendered page: what sticks out sideways, and which figures lack a caption.
# A figure (plotly div, SVG outside plotly, image) must lie within the viewport as drawn;
# a table is measured as seen through its scrolling/clipping ancestors (the theme and
# MyST-NB wrap tables in `overflow-x: auto` boxes, which is the intended way to show a
# wide table on a phone; a box that clips without scrolling hides columns, and counts as
# overflow). Plotly figures inside a widget are the live output of its
# controls, not a figure of the text, so they need no caption (counted as `in_widgets`).
_LAYOUT_JS = """() => {
  const vw = document.documentElement.clientWidth;
  const where = el => {
    const s = el.closest('section');
    const h = s && s.querySelector('h1, h2, h3, h4');
    const f = el.closest('figure[id]');
    return (h ? '"' + h.textContent.replace(/#\\s*$/, '').trim() + '"' : 'top of page')
      + (f ? ' #' + f.id : '');
  };
  const seen = el => {
    const r = el.getBoundingClientRect();
    let left = r.left, right = r.right;
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX)) {
        const ar = a.getBoundingClientRect();
        left = Math.max(left, ar.left);
        right = Math.min(right, ar.right);
      }
    }
    return [left, right];
  };
  const article = document.querySelector('.bd-article') || document.body;
  const overflow = [];
  const check = (el, what, [left, right]) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return;  // not displayed (e.g. a closed toggle)
    if (left < -1 || right > vw + 1)
      overflow.push(`${what} in ${where(el)}: ${Math.round(r.width)} px wide, drawn from `
                    + `${Math.round(left)} to ${Math.round(right)} px of ${vw}`);
  };
  const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.right]; };
  article.querySelectorAll('.plotly-graph-div').forEach(d => check(d, 'plotly figure', box(d)));
  article.querySelectorAll('svg').forEach(s => {
    if (!s.closest('.plotly-graph-div, mjx-container')) check(s, 'svg', box(s)); });
  // A diagram keeps the width its labels need and scrolls in its own figure on a phone
  // (rhmlib.diagrams.phone_css), as a wide table does: measured as seen through that box.
  article.querySelectorAll('img').forEach(i => check(i, 'image', seen(i)));
  article.querySelectorAll('table').forEach(t => check(t, 'table', seen(t)));
  // A table wider than a box that clips it without a scroll bar loses its right columns
  // (a box that scrolls, `overflow-x: auto`, is the intended way to show a wide table).
  article.querySelectorAll('table').forEach(t => {
    const r = t.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return;
    for (let a = t.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === 'visible') continue;
      const ar = a.getBoundingClientRect();
      if (['hidden', 'clip'].includes(o) && (r.left < ar.left - 1 || r.right > ar.right + 1))
        overflow.push(`table in ${where(t)}: ${Math.round(r.width)} px wide, clipped to `
                      + `${Math.round(ar.width)} px by a box that does not scroll`);
      break;
    }
  });
  const scroll = document.documentElement.scrollWidth;
  if (scroll > vw + 1) {
    const culprits = [...article.querySelectorAll('*')]
      .filter(el => { const [l, r] = seen(el); return r > vw + 1 && r > l; })
      .slice(-3).map(el => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}`
                            + ` in ${where(el)}`);
    overflow.push(`the page scrolls sideways: ${scroll} px wide in a ${vw} px viewport`
                  + (culprits.length ? ` (e.g. ${culprits.join('; ')})` : ''));
  }
  const plots = [...document.querySelectorAll('.plotly-graph-div')];
  const inWidgets = plots.filter(d => d.closest('.jupyter-widgets'));
  const uncaptioned = plots.filter(d => !d.closest('.jupyter-widgets')).filter(d => {
    const f = d.closest('figure');
    const n = f && f.querySelector(':scope > figcaption .caption-number');
    return !(n && /^Fig\\.\\s*\\d+/.test(n.textContent.trim()));
  }).map(where);
  return {viewport_width: vw, overflow, uncaptioned, in_widgets: inWidgets.length};
}"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site without logging every request to the test's output."""

    def log_message(self, format: str, *args: object) -> None:
        """Log nothing: the test records requests itself."""


def site_pages(html_dir: Path) -> list[str]:
    """The built pages, relative to the HTML folder (Sphinx's own ``_`` folders left out)."""
    return sorted(p.relative_to(html_dir).as_posix() for p in html_dir.rglob("*.html")
                  if not p.relative_to(html_dir).parts[0].startswith("_"))


_REFRESH = re.compile(
    r"""<meta\s+http-equiv=["']refresh["']\s+content=["'][^"']*url=([^"']+)["']""", re.IGNORECASE)


def redirect_target(html_dir: Path, name: str) -> str | None:
    """The page that ``name`` only sends the reader on to, or None for a page of its own.

    Jupyter Book's ``index.html`` is a bare ``<meta http-equiv="Refresh">`` to the root
    page. Opened in the browser it races its own redirect: the checks may run on the page
    it left, or on the root page half loaded (a plotly figure parsed, its caption not yet),
    so the browser opens the target itself, and checks here that it is a built page.
    """
    hit = _REFRESH.search((html_dir / name).read_text(encoding="utf-8", errors="replace"))
    if not hit:
        return None
    return posixpath.normpath(posixpath.join(posixpath.dirname(name), hit.group(1).split("#")[0]))


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


def _visit(page: Page, base: str, html_dir: Path, name: str, shot: Path | None) -> dict:
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
    findings.update(page.evaluate(_LAYOUT_JS))
    if shot is not None:
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=shot, full_page=True)
        findings["screenshot"] = str(shot)
    files = [html_dir / p.lstrip("/") for p in loaded]
    findings["html_kb"] = round((html_dir / name).stat().st_size / 1024, 1)
    findings["loaded_kb"] = round(sum(f.stat().st_size for f in files if f.is_file()) / 1024, 1)
    return findings


@pytest.fixture(scope="module")
def report(site: tuple[Path, str], browser: Browser) -> dict[str, list[dict]]:
    """Findings of every page at every viewport, also written to ``browser-report.json``."""
    html_dir, base = site
    build = html_dir.parent
    left_site: list[str] = []

    def block_outside(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(base) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()  # type: ignore[attr-defined]
        else:
            left_site.append(url)
            route.abort()  # type: ignore[attr-defined]

    result: dict[str, list[dict]] = {}
    for view, size in VIEWPORTS.items():
        context = browser.new_context(viewport=size)
        context.set_default_timeout(NAVIGATION_TIMEOUT_MS)
        context.route("**/*", block_outside)
        result[view] = []
        for name in site_pages(html_dir):
            if redirect_target(html_dir, name):  # its target is a page of this list
                continue
            page = context.new_page()
            before = len(left_site)
            shot = (build / "screenshots" / view / Path(name).with_suffix(".png")
                    if SCREENSHOTS else None)
            findings = _visit(page, base, html_dir, name, shot)
            findings["left_site"] = left_site[before:]
            result[view].append(findings)
            page.close()
        context.close()
    (build / "browser-report.json").write_text(json.dumps(result, indent=1))
    return result


def test_redirects_lead_to_a_built_page(site: tuple[Path, str]) -> None:
    html_dir = site[0]
    pages = site_pages(html_dir)
    redirects = {name: redirect_target(html_dir, name) for name in pages}
    redirects = {name: target for name, target in redirects.items() if target}
    assert "index.html" in redirects  # the site's entry: Jupyter Book's redirect to the root
    problems = [f"{name} sends the reader to {target}, which is no page of the site"
                for name, target in redirects.items()
                if target not in pages or target in redirects]
    assert not problems, "\n".join(problems)


def test_every_page_renders_offline(report: dict[str, list[dict]],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():  # the screenshots are for people: say where they are
        print("\nscreenshots:" if SCREENSHOTS
              else "\nno screenshots (RHMLIB_SCREENSHOTS=1 takes them)")
        for view, pages in report.items():
            print("\n".join(f"  {view}: {f['screenshot']}" for f in pages if "screenshot" in f))
    problems = []
    for view, pages in report.items():
        for f in pages:
            for key in ("left_site", "console_errors", "http_errors"):
                problems += [f"{f['page']} ({view}): {key}: {item}" for item in f[key]]
            for what, done in (("figures", "figures_drawn"), ("math", "math_typeset"),
                               ("widgets", "widgets_rendered")):
                if f[done] != f[what]:
                    problems.append(f"{f['page']} ({view}): {f[done]} of {f[what]} {what} rendered")
    assert not problems, "\n".join(problems)
    # The checks above are only meaningful if the book has figures, math and widgets.
    assert all(sum(f[k] for f in report["desktop"]) for k in ("figures", "math", "widgets")), report


def test_no_figure_or_table_is_wider_than_the_screen(report: dict[str, list[dict]]) -> None:
    problems = [f"{f['page']} ({view}): {item}" for view, pages in report.items()
                for f in pages for item in f["overflow"]]
    assert not problems, "\n".join(problems)


def test_every_plotly_figure_is_numbered_and_captioned(report: dict[str, list[dict]]) -> None:
    pages = report["desktop"]
    problems = [f"{f['page']}: plotly figure without a numbered caption in {where}"
                for f in pages for where in f["uncaptioned"]]
    assert not problems, ("every plotly figure of the text belongs in a {glue:figure} with a "
                          "caption:\n" + "\n".join(problems))
    # Meaningful only if the book has captioned figures at all.
    assert sum(f["figures"] - f["in_widgets"] for f in pages) > 0
