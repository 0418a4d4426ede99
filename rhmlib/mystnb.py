"""MyST-NB plugin for the book build (registered as a ``myst_nb.mime_renderers`` entry point).

The book's figures are single outputs carrying plotly's JSON (for JupyterLab) and HTML
(for static pages). Sphinx renders every mime type of an output before choosing one,
so without this plugin the JSON twin would raise "skipping unknown output mime type"
although its HTML twin is the one shown.
"""

from __future__ import annotations

from typing import Any

PLOTLY_JSON = "application/vnd.plotly.v1+json"


class PlotlyJsonTwin:
    """Renders plotly JSON to nothing, so that the HTML twin of the same output is kept."""

    mime_priority_overrides: tuple = ()

    @staticmethod
    def handle_mime(renderer: Any, data: Any, inline: bool) -> list | None:
        """Empty node list for plotly JSON; None (not ours) for every other mime type."""
        return [] if data.mime_type == PLOTLY_JSON else None
