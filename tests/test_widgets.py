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
    assert "Cannot train: P + n_test + n_val must be <=" in capsys.readouterr().out


# Threads: every action runs on a count the process can get (rhmlib.widgets._torch_threads).

def test_cgroup_cpu_limit_reads_v2_and_v1_quotas(tmp_path) -> None:  # noqa: ANN001
    membership = tmp_path / "cgroup"
    membership.write_text("0::/user/kernel\n")
    (tmp_path / "user" / "kernel").mkdir(parents=True)
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert widgets._cgroup_cpu_limit(tmp_path, membership) is None  # no quota anywhere
    (tmp_path / "user" / "cpu.max").write_text("400000 100000\n")
    (tmp_path / "user" / "kernel" / "cpu.max").write_text("150000 100000\n")
    assert widgets._cgroup_cpu_limit(tmp_path, membership) == 1.5  # the tightest group
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert widgets._cgroup_cpu_limit(tmp_path, membership) == 1.0  # cgroup v1
    assert widgets._cgroup_cpu_limit(tmp_path / "absent", tmp_path / "absent") is None


def test_usable_cpus_takes_affinity_and_quota(monkeypatch) -> None:  # noqa: ANN001
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(64)), raising=False)
    monkeypatch.setattr(widgets, "_cgroup_cpu_limit", lambda: None)
    assert widgets._usable_cpus() == 64  # a Binder-like host: every core in the mask
    monkeypatch.setattr(widgets, "_cgroup_cpu_limit", lambda: 2.5)
    assert widgets._usable_cpus() == 2  # ... but a quota of 2.5 CPUs: 2
    monkeypatch.setattr(widgets, "_cgroup_cpu_limit", lambda: 0.5)
    assert widgets._usable_cpus() == 1
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(widgets, "_cgroup_cpu_limit", lambda: None)
    assert widgets._usable_cpus() is None  # unknown


def test_torch_threads_caps_then_restores(monkeypatch) -> None:  # noqa: ANN001
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        monkeypatch.setattr(widgets, "_usable_cpus", lambda: 2)
        with widgets._torch_threads() as n:  # the default for these tiny networks
            assert n == torch.get_num_threads() == 1
        assert torch.get_num_threads() == 3
        with widgets._torch_threads(8) as n:  # more asked than usable: capped
            assert n == torch.get_num_threads() == 2
        monkeypatch.setattr(widgets, "_usable_cpus", lambda: None)
        with widgets._torch_threads(8) as n:  # unsure: one
            assert n == 1
        with pytest.raises(RuntimeError), widgets._torch_threads():
            raise RuntimeError
        assert torch.get_num_threads() == 3  # restored after an error too
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("make", "kwargs"),
    [
        (widgets.rhm_explorer, {}),
        (widgets.train_live, {"P": 200, "steps": 100}),
        (widgets.masking_live, {"P": 200, "steps": 100}),
        (widgets.ssl_live, {"P": 200, "steps": 50}),
        (widgets.playground, {"P": 100, "steps": 50}),
        (widgets.linear_live, {"depth": 3, "width": 8}),
    ],
)
def test_widget_action_sets_threads_and_outputs_state(make, kwargs, monkeypatch) -> None:  # noqa: ANN001
    """Each action runs in _torch_threads, and fills its Output by state, never by capture.

    A capture (``with out:``) makes nbclient echo every captured output to the kernel on
    the shell channel, which can leave the cell waiting for the execution timeout.
    """
    import contextlib

    import ipywidgets as W
    import torch

    inside: list[int] = []
    helper = widgets._torch_threads

    @contextlib.contextmanager
    def spy(*args, **kw):  # noqa: ANN002, ANN003, ANN202
        with helper(*args, **kw) as n:
            inside.append(torch.get_num_threads())
            yield n

    def no_capture(self: W.Output) -> None:
        raise AssertionError("a widget captured output with `with out:`")

    monkeypatch.setattr(widgets, "_torch_threads", spy)
    monkeypatch.setattr(W.Output, "__enter__", no_capture)
    before = torch.get_num_threads()
    panel = make(**kwargs)
    assert inside and set(inside) == {1}
    assert torch.get_num_threads() == before
    (out,) = [w for w in _descendants(panel) if isinstance(w, W.Output)]
    kinds = [o["output_type"] for o in out.outputs]
    assert "display_data" in kinds, kinds
    assert all("application/vnd.plotly.v1+json" in o["data"]
               for o in out.outputs if o["output_type"] == "display_data")


def _descendants(box):  # noqa: ANN001, ANN202
    yield box
    for child in getattr(box, "children", ()):
        yield from _descendants(child)


def test_playground_sizes_its_test_set_to_the_grammar(capsys) -> None:  # noqa: ANN001
    # 8 * 2**3 = 64 distinct inputs: 40 to train on leaves 24 to test on.
    widgets.playground(v=4, n_c=8, m=2, s=2, L=2, P=40, steps=50)
    printed = capsys.readouterr().out
    assert "Cannot train" not in printed and "test accuracy" in printed
    widgets.playground(v=4, n_c=8, m=2, s=2, L=2, P=64, steps=50)
    assert "Cannot train: P must be below the grammar's 64 distinct inputs" in \
        capsys.readouterr().out
