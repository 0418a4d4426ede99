"""The per-page scripts of rhmlib.sphinxext, on a stand-in for Sphinx's HTML builder.

The browser test checks the built pages end to end; this pins the script order the
pages rely on (plotly.js before require.js, the widget setup between require.js and
the widget manager) without building anything.
"""

from __future__ import annotations

import posixpath
from types import SimpleNamespace

from sphinx.builders.html._assets import _JavaScript

from rhmlib import sphinxext

THEBE = 'const THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js"'


def _page(body: str, scripts: list[_JavaScript]) -> tuple[SimpleNamespace, dict]:
    def add_js_file(filename: str | None, priority: int = 500, **attrs: object) -> None:
        path = posixpath.join("_static", filename) if filename else filename
        scripts.append(_JavaScript(path, priority=priority, **attrs))

    app = SimpleNamespace(builder=SimpleNamespace(format="html"), add_js_file=add_js_file)
    context = {"body": body, "script_files": scripts,
               "pathto": lambda path, resource: "../" + path}
    return app, context


def test_widget_page_gets_plotly_first_and_setup_after_require() -> None:
    scripts = [
        _JavaScript(None, body=THEBE, priority=500),
        _JavaScript("", body=THEBE, priority=500),  # Sphinx's duplicate of the same config
        _JavaScript("_static/vendor/require.js", priority=500),
        _JavaScript("_static/vendor/html-manager/embed-amd.js", priority=500),
    ]
    app, context = _page('<div class="plotly-graph-div"></div>', scripts)
    sphinxext._page_scripts(app, "book/x", "page.html", context, None)

    ordered = sorted(scripts, key=lambda js: js.priority)  # as Sphinx renders them
    names = [js.filename for js in ordered]
    assert names[0] == "_static/" + sphinxext.PLOTLYJS_FILE
    assert sum(js.attributes.get("body") == THEBE for js in scripts) == 1
    setup = names.index("_static/vendor/require.js") + 1
    assert "../_static/vendor/html-manager" in ordered[setup].attributes["body"]
    assert names[setup + 1] == "_static/vendor/html-manager/embed-amd.js"


def test_page_without_figures_or_widgets_loads_neither() -> None:
    scripts = [_JavaScript("_static/doctools.js", priority=500)]
    app, context = _page("<p>prose</p>", scripts)
    sphinxext._page_scripts(app, "book/glossary", "page.html", context, None)
    assert [js.filename for js in scripts] == ["_static/doctools.js"]
