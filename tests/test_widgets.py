"""The training widgets run their default configuration without error, and report bad input."""

from __future__ import annotations

import pytest

from rhmlib import widgets


@pytest.mark.parametrize(
    ("make", "kwargs"),
    [
        (widgets.train_live, {"P": 200, "steps": 100}),
        (widgets.masking_live, {"P": 200, "steps": 100}),
        (widgets.ssl_live, {"P": 200, "steps": 50}),
        (widgets.playground, {"P": 100, "steps": 50}),
    ],
)
def test_widget_trains_its_defaults(make, kwargs, capsys) -> None:  # noqa: ANN001
    # Outside a kernel, an Output widget lets prints through to stdout.
    make(**kwargs)
    printed = capsys.readouterr().out
    assert "Cannot train" not in printed
    assert "test accuracy" in printed or "ssl" in make.__name__


def test_widget_reports_bad_input(capsys) -> None:  # noqa: ANN001
    widgets.train_live(P=10**7, steps=100)
    assert "Cannot train: n must be <=" in capsys.readouterr().out
