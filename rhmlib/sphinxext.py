"""Sphinx extension of the book build: every page renders offline from the site's files.

Listed in ``_config.yml`` (``sphinx.extra_extensions``). It

- copies the ``plotly.min.js`` of the installed ``plotly`` package into the built site
  (so the page and the Python side always agree on the version) and loads it on every
  page that draws a figure, and tells the kernels that the build starts (they inherit
  this process's environment) that the site provides plotly.js, so the ``rhmlib``
  renderer does not embed 4.8 MB of it in each page; outside the build (JupyterLab,
  Binder, nbconvert) nothing changes;
- points require.js at the vendored widget manager, whose modules resolve their icon
  fonts from their own paths (``@jupyter-widgets/...``), and gives the widget manager
  the MathJax 2 call it makes (``MathJax.Hub.Queue``) on top of the site's MathJax 3;
- drops the second copy of sphinx-thebe's inline configuration, which Sphinx emits twice
  and which then fails with "Identifier 'THEBE_JS_URL' has already been declared";
- has nbclient record each cell's timing (``metadata.execution``: the kernel's busy,
  execute_input, execute_reply and idle times) in the executed notebooks
  (``_build/jupyter_execute``), which myst-nb leaves off; tests/test_exec_time.py tells
  from them each notebook's compute time from its time spent waiting.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path
from typing import Any

from plotly.offline import get_plotlyjs_version
from sphinx.application import Sphinx

PLOTLYJS_ENV = "RHMLIB_PLOTLYJS"
PLOTLYJS_FILE = "vendor/plotly.min.js"
WIDGET_MANAGER_DIR = "_static/vendor/html-manager"

# Between require.js and the widget manager.
_WIDGET_SETUP_JS = """
require.config({paths: {"@jupyter-widgets/html-manager/dist": "%(manager)s",
                         "@jupyter-widgets": "%(manager)s"}});
window.addEventListener("DOMContentLoaded", function () {
  if (window.MathJax && !window.MathJax.Hub) {
    window.MathJax.Hub = {Queue: function (job) {
      return MathJax.startup.promise.then(function () { return MathJax.typesetPromise([job[2]]); });
    }};
  }
});
"""


def _page_draws_plotly(context: dict[str, Any]) -> bool:
    # Figures live in the page body, or inside saved widget state (a widget's Output).
    if "plotly-graph-div" in context.get("body", ""):
        return True
    return any("plotly-graph-div" in getattr(js, "attributes", {}).get("body", "")
               for js in context.get("script_files", []))


def _page_scripts(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                  doctree: Any) -> None:
    if app.builder.format != "html":
        return
    scripts = context.get("script_files", [])
    seen: set[str] = set()
    for js in list(scripts):
        body = getattr(js, "attributes", {}).get("body")
        if not getattr(js, "filename", None) and body:
            if body in seen:
                scripts.remove(js)
            seen.add(body)
    # Before require.js (myst-nb's widget scripts): plotly.js must not see an AMD loader.
    if _page_draws_plotly(context):
        app.add_js_file(PLOTLYJS_FILE, priority=400)
    names = [str(getattr(js, "filename", "")) for js in scripts]
    if any(n.endswith("vendor/require.js") for n in names):
        manager = context["pathto"](WIDGET_MANAGER_DIR, 1)
        app.add_js_file(None, body=_WIDGET_SETUP_JS % {"manager": manager})
        # Same priority as myst-nb's scripts, whose order Sphinx keeps: place it right
        # after require.js, before the widget manager.
        scripts.insert(next(i for i, n in enumerate(names) if n.endswith("vendor/require.js"))
                       + 1, scripts.pop())


def _copy_plotlyjs(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        import plotly

        source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        target = Path(app.outdir) / "_static" / PLOTLYJS_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def _record_cell_timing() -> None:
    # myst-nb (pinned 1.4.0) executes through jupyter-cache's single_nb_execution, whose
    # record_timing (nbclient's) defaults to off; it is a plain keyword, so turn it on.
    try:
        from myst_nb.core.execute import direct
    except ImportError:  # another myst-nb layout: the build runs as before, untimed
        return
    execute = direct.single_nb_execution
    if not getattr(execute, "keywords", {}).get("record_timing"):
        direct.single_nb_execution = functools.partial(execute, record_timing=True)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the plotly.js copy and per-page script; mark kernels as building the site."""
    os.environ[PLOTLYJS_ENV] = "site"
    _record_cell_timing()
    # After myst-nb's own html-page-context handler, which adds the widget state.
    app.connect("html-page-context", _page_scripts, priority=600)
    app.connect("build-finished", _copy_plotlyjs)
    return {"version": get_plotlyjs_version(), "parallel_read_safe": True,
            "parallel_write_safe": True}
