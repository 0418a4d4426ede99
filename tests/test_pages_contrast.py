"""The similarity test of chapter 07 on hand-made points: ρ, families, and its verdict."""

import math
import re

import pytest

from rhmlib.pages.ch07 import family_of, similarity_rows


def _point(name: str, blend: float, cosine: float, test: float, L: int = 3) -> dict:
    return {"name": name, "blend": blend, "m": 4, "L": L, "seed": 0, "cosine": cosine,
            "test": test}


def test_rho_is_given_over_all_runs_and_without_each_family() -> None:
    points = [_point("CLAPP", b, b, 0.5 + 0.4 * b) for b in (0.0, 0.3, 0.6, 1.0)]
    points += [_point("CLAPP++ (top context)", 0.0, c, t)
               for c, t in ((0.05, 0.99), (0.1, 0.98), (0.15, 0.97))]
    rows = similarity_rows(points)
    assert [r["grammar"] for r in rows] == ["m = 4, L = 3"]  # "all" only beside others
    assert [r["grammar"] for r in similarity_rows(points + [{**points[0], "L": 4}])] == [
        "m = 4, L = 3", "m = 4, L = 4", "all"]
    every = rows[-1]
    assert every["n"] == 7 and every["decides"] and every["low"] == 0.0
    # The blends alone rise with the cosine; the top-context runs alone fall.
    assert every["without"]["CLAPP++ (top context)"] == pytest.approx(1.0)
    assert every["without"]["CLAPP, blended with its twin"] == pytest.approx(-1.0)
    assert family_of(points[0]) == "CLAPP, blended with its twin"


def test_a_narrow_range_of_cosines_cannot_decide() -> None:
    points = [_point("CLAPP", 0.0, c, t) for c, t in ((0.01, 0.9), (0.05, 0.8), (0.1, 0.7))]
    row = similarity_rows(points)[0]
    assert not row["decides"] and row["rho"] == pytest.approx(-1.0)
    assert math.isnan(similarity_rows(points[:2])[0]["rho"])


def test_probe_means_and_hierarchy_panels_per_cell() -> None:
    from rhmlib.sweeps.contrast import hierarchy_groups, probe_means

    L = 3
    # decodability[layer][level]: layer k's own level is L - 1 - k.
    points = [{"sensitivity": [0.2, 0.4, 0.6],
               "decodability": [[None, None, d], [None, d, None], [d, None, None]]}
              for d in (0.8, 1.0)]
    means = probe_means(points, L)
    assert means["sensitivity"][0] == pytest.approx((0.2, 0.0))
    assert [m for m, _ in means["own"]] == pytest.approx([0.9, 0.9, 0.9])
    rows = [{"name": "BP", "m": 4, "L": 3, "P": 2048, **means, "test": 0.9, "n": 2},
            {"name": "untrained, width 64", "m": 4, "L": 3, "P": 2048, **means,
             "test": None, "n": 2}]
    rows.append({**rows[0], "m": 8, "P": 2 * 16 * 8**3})
    groups = hierarchy_groups(rows, "sensitivity")
    assert list(groups) == ["L = 3, P = 2 P*", "m = 8, L = 3, P = 2 P*"]
    assert [p["x"] for p in groups["L = 3, P = 2 P*"]["BP"]] == [1, 2, 3]
    with pytest.raises(ValueError, match="measure must be"):
        hierarchy_groups(rows, "decodability")


def test_the_contrast_verdict_per_grammar() -> None:
    from rhmlib.pages.ch06 import contrast_verdicts

    def row(name: str, L: int, p90: float) -> dict:
        return {"name": name, "m": 4, "L": L, "p90": p90}

    rows = [row("BP", 3, 1.5), row("FA", 3, 6.0), row("DFA", 3, math.inf),
            row("CLAPP", 3, 2.0), row("InfoNCE", 3, 4.0),
            row("BP", 5, 1.0), row("FA", 5, math.inf), row("DFA", 5, math.inf),
            row("CLAPP", 5, math.inf), row("VICReg", 5, 9.0)]
    by_L = {v["L"]: v for v in contrast_verdicts(rows)}
    assert by_L[3]["verdict"] == "holds" and by_L[3]["ssl"] == ("CLAPP", pytest.approx(4 / 3))
    assert by_L[3]["type1"] == ("FA", 4.0)
    assert by_L[5]["verdict"] == "both lose it" and by_L[5]["ssl"][0] == "VICReg"


def test_the_label_limited_verdict() -> None:
    from rhmlib.pages.ch06 import label_verdicts

    def row(name: str, mean: float, sem: float = 0.01) -> dict:
        return {"name": name, "m": 4, "L": 4, "labels": 512, "ratio": 0.5, "mean": mean,
                "sem": sem, "n": 3}

    (v,) = label_verdicts([row("BP", 0.5), row("CLAPP", 0.7), row("InfoNCE", 0.6)])
    assert v["verdict"] == "ahead" and v["ssl"]["name"] == "CLAPP"
    (v,) = label_verdicts([row("BP", 0.5), row("CLAPP", 0.52, 0.05)])
    assert v["verdict"] == "level"
    assert label_verdicts([row("CLAPP", 0.7)]) == []


def test_separating_layers_need_every_rule_of_one_family_beyond_the_other() -> None:
    from rhmlib.pages.ch06 import separating_layers

    def row(name: str, sens: list[float]) -> dict:
        return {"name": name, "m": 4, "L": 2, "P": 2048,
                "sensitivity": [(s, 0.01) for s in sens], "own": [], "test": 0.9, "n": 3}

    rows = [row("FA", [0.9, 0.5]), row("DFA", [0.8, 0.45]), row("CLAPP", [0.3, 0.5]),
            row("InfoNCE", [0.4, 0.47])]
    layers = separating_layers(rows)
    assert [v["separates"] for v in layers] == [True, False]
    assert layers[0]["type1"] == pytest.approx(0.85) and layers[0]["ssl"] == pytest.approx(0.35)


# -- the chapters' page functions end to end, on synthetic runs of every contrast sweep ----

def _synthetic(config: dict, probes: tuple[str, ...]) -> dict:
    """A record of ``config``: accuracy rising with P / P*, faster for backprop and wider
    networks; probes filled with plausible values."""
    from rhmlib.rhm import p_star
    from rhmlib.sweeps.cache import resolve

    full = resolve(config)
    if full.get("dataset") == "mnist1d":
        return _synthetic_mnist1d(full, probes)
    ratio = full["P"] / p_star(full["n_c"], full["m"], full["L"])
    half = {"bp": 0.6, "fa": 3.0, "dfa": 2.5}.get(full["rule"], 1.2) * full["L"] / 3
    half *= 64 / full["width"] if full["rule"] not in ("bp", "fa", "dfa") else 1
    blend = full["rule_options"].get("blend", 0.0)
    acc = min(1.0, 1 / (1 + (half / ratio) ** 2) + 0.005 * (full["seed"] % 3) - 0.1 * blend)
    record = {"config": full, "result": {
        "test_accuracy": acc, "val_accuracy": acc, "train_accuracy": min(1.0, acc + 0.1),
        "stages": [{"steps": 2000, "stopped": "converged", "best_step": 2000,
                    "lr": full["lr"], "restarts": 0}]}}
    L = full["L"]
    if "hierarchy" in probes:
        record["probes"] = {"hierarchy": {
            "steps": [100, 200], "sensitivity": [[0.5] * L, [0.3] * L],
            "decodability": [[[0.5] * L for _ in range(L)], [[0.8] * L for _ in range(L)]]}}
    if "twins" in probes:
        record["probes"] = {"twins": {"steps": [100], "cosines": [[blend] * (L - 2) + [1.0]]}}
    return record


def install_synthetic(setattr: object = None) -> dict[str, list[dict]]:
    """Make every sweep the contrast chapters read load synthetic runs (made in dependency
    order); ``setattr`` as pytest's monkeypatch gives it, else the patch stays (for a
    notebook run by hand on synthetic results)."""
    import builtins

    import rhmlib.sweeps as package
    from rhmlib.pages import ch06, ch07, ch09, intro
    from rhmlib.sweeps import backprop, contrast, feedback, local, mnist1d, registry

    patch = setattr or (lambda obj, name, value, raising=True: builtins.setattr(obj, name, value))
    sweeps: dict[str, list[dict]] = {}

    def load(name: str, root: object = None) -> list[dict]:
        if name not in sweeps:
            runs = registry.runs_of(name)
            sweeps[name] = [_synthetic(run.config, run.probes) for run in runs]
        return sweeps[name]

    for module in (backprop, contrast, feedback, local, mnist1d, ch06, ch07, ch09, intro, registry,
                   package):
        patch(module, "load_sweep", load, raising=False)
    patch(ch06, "untrained", lambda config: {
        "sensitivity": [0.9] * config["L"],
        "decodability": [[0.1] * config["L"] for _ in range(config["L"])]})
    return sweeps


def _synthetic_mnist1d(full: dict, probes: tuple[str, ...]) -> dict:
    """A record of an MNIST-1D config: accuracy rising with the labels, backprop best."""
    ceiling = {"bp": 0.92, "fa": 0.6, "dfa": 0.65}.get(full["rule"], 0.35)
    if full["model"] == "fcn":
        ceiling = 0.68
    acc = ceiling / (1 + 1000 / full["P"]) + 0.005 * (full["seed"] % 3)
    record = {"config": full, "result": {
        "test_accuracy": acc, "val_accuracy": acc, "train_accuracy": min(1.0, acc + 0.2),
        "stages": [{"steps": 2000, "stopped": "converged", "best_step": 2000,
                    "lr": full["lr"], "restarts": 0}],
        "history": {"step": [1000, 2000], "train_accuracy": [acc / 2, acc + 0.2],
                    "test_accuracy": [acc / 2, acc]}}}
    layers = full["L"]
    if "activity" in probes:
        record["probes"] = {"activity": {"steps": [100], "silent": [[0.1] * layers],
                                         "active": [[0.4] * layers]}}
    if "twins" in probes:
        blend = full["rule_options"].get("blend", 0.0)
        record["probes"] = {"twins": {"steps": [100], "cosines": [[blend] * (layers - 2) + [1.0]]}}
    return record


@pytest.fixture()
def synthetic_contrast(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[dict]]:
    """Every sweep the contrast chapters read, synthesised in dependency order."""
    return install_synthetic(monkeypatch.setattr)


def test_chapter_06_and_07_pages_run_on_synthetic_results(synthetic_contrast: dict) -> None:
    from rhmlib.pages import ch06, ch07
    from rhmlib.sweeps import contrast

    rows = contrast.scaling_rows()
    assert {r["name"] for r in rows} >= set(contrast.RULES) | {contrast.CONTROL}
    type1, ssl = ch06.central_figures()
    for fig in (type1, ssl, ch06.capacity_figure(), ch06.label_figure(), ch06.oracle_figure(),
                *(fig for (measure, _), fig in ch06.hierarchy_figures().items()
                  if measure == "sensitivity"),
                ch07.blend_figure(), ch07.twin_figure()):
        assert fig.data
    verdicts = ch06.contrast_verdicts(rows)
    assert len(verdicts) == len(contrast.CONTRAST_GRAMMARS)
    assert {v["verdict"] for v in verdicts} <= {"holds", "both keep it", "both lose it", "reversed"}
    for table in (ch06.verdict_table(rows), ch06.width_table(), ch06.scaling_table(rows),
                  ch06.chosen_lr_table(), ch06.temperature_table(), ch07.blend_table(),
                  ch07.variant_table(), ch07.similarity_table()):
        assert table.rows
    assert ch06.label_verdicts(contrast.label_rows())
    assert ch06.separating_layers(contrast.hierarchy_rows()) is not None
    # The synthetic blends spread the cosines over [0, 1], and learn worse the more global.
    every = {r["grammar"]: r for r in ch07.similarity_rows(contrast.twin_points())}["all"]
    assert every["decides"] and every["rho"] < 0


def test_chapter_09_pages_run_on_synthetic_results(synthetic_contrast: dict) -> None:
    from rhmlib.pages import ch09

    assert len(ch09.anchor_rows()) == 2 and ch09.scan_table().rows
    found = ch09.findings()
    assert found["best_ssl"] in ("clapp", "infonce", "vicreg")
    assert found[250]["limited_behind"] or not found[250]["limited_ahead"]
    assert {found[P]["vs_control"] for P in ch09.sweeps.LABELS} <= {"above", "below",
                                                                   "level with"}
    for fig in (ch09.label_figure(), ch09.twin_figure(), ch09.explorer("bp"),
                ch09.templates_figure(),
                ch09.explorer(ch09.sweeps.CONTROL, over="width"),
                ch09.explorer("clapp", "label-limited")):
        assert fig.data
    assert all(len(curves) <= 6 for curves in ch09.label_groups().values())
    assert ch09.label_table().rows and ch09.activity_table().rows and ch09.silent_shares()
    assert ch09.width_table().rows and set(ch09.width_texts()) == {"chosen", "caveat", "control",
                                                                "verdicts"}
    assert ch09.diverged_note().endswith(".")


def test_a_diverged_mnist1d_run_is_counted_not_dropped(synthetic_contrast: dict) -> None:
    from rhmlib.pages import ch09
    from rhmlib.sweeps import mnist1d

    records = mnist1d.load_sweep("mnist1d_labels")
    lost = next(r for r in records if r["config"]["rule"] == "bp" and r["config"]["P"] == 250)
    synthetic_contrast["mnist1d_labels"] = [
        {"config": r["config"], "diverged": "loss is nan at step 300"} if r is lost else r
        for r in records]
    row = next(r for r in mnist1d.label_rows() if (r["rule"], r["P"]) == ("bp", 250))
    assert row["diverged"] == 1 and row["n"] == len(mnist1d.HEADLINE_SEEDS) - 1
    assert "1 of 3 runs of BP at 250 labels" in ch09.diverged_note()


def test_the_claims_table_runs_on_synthetic_results(synthetic_contrast: dict) -> None:
    from rhmlib.pages.intro import claims_table

    table = claims_table()
    assert len(table.rows) == 7 and all(r["what we find"] for r in table.rows)
    assert sum(r["on MNIST-1D"] != "–" for r in table.rows) == 4


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"rule": "drtp"}, "rule must be one of"), ({"regime": "limited"}, "regime must be one of"),
    ({"over": "P"}, "over must be one of"),
    ({"rule": "bp", "regime": "label-limited"}, "regime 'label-limited' was run for"),
    ({"rule": "vicreg", "over": "width"}, "over='width' (the width check) was run for"),
])
def test_the_mnist1d_explorer_names_a_setting_it_has_no_runs_for(kwargs: dict,
                                                                  message: str) -> None:
    from rhmlib.pages import ch09

    with pytest.raises(ValueError, match=re.escape(message)):
        ch09.explorer(**kwargs)
