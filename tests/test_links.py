"""Offline link check of the built site: every internal link and anchor resolves.

Sphinx's ``linkcheck`` builder needs the network; this reads the built HTML instead.
Links to other sites (Binder, Colab, GitHub, DOIs) are only checked to be well formed.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Links(HTMLParser):
    """Collects the link targets (href, src) and element ids of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record href/src of links, scripts, images and stylesheets, and every id."""
        for key, value in attrs:
            if value is None:
                continue
            if key == "id" or (tag == "a" and key == "name"):
                self.ids.add(value)
            elif key in ("href", "src") and tag in ("a", "link", "script", "img", "iframe"):
                self.links.append(value)


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def test_every_internal_link_and_anchor_resolves(built_book: tuple[Path, str]) -> None:
    html_dir = built_book[0] / "html"
    pages = {p: _parse(p) for p in html_dir.rglob("*.html")
             if not p.relative_to(html_dir).parts[0].startswith("_")}
    broken, external = [], set()
    for page, parsed in pages.items():
        for link in parsed.links:
            parts = urlsplit(link)
            if parts.scheme in ("http", "https"):
                external.add(link)
                if not parts.netloc:
                    broken.append(f"{page.name}: malformed {link}")
                continue
            if parts.scheme or link.startswith("//"):  # mailto:, javascript:, data:
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(html_dir)}: missing {link}")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(html_dir)}: no anchor {link}")
    assert not broken, "\n".join(sorted(set(broken)))
    assert pages and external  # a real site, with launch and repository links
