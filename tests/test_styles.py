"""How the book shows a rule: declared in its file, read by the plots and the diagrams alike."""

import copy
import pickle
import re

import pytest

from rhmlib import styles
from rhmlib.rules import RULES, Rule, register
from rhmlib.styles import COLORS, PALETTE, Styles, rule_color
from rhmlib.sweeps import feedback, local
from rhmlib.sweeps.variants import Variant, rule_label

# The colours readers know from the book so far: they must not change.
KNOWN = {"bp": "#332288", "fa": "#44AA99", "dfa": "#999933", "drtp": "#CC6677",
         "pepita": "#AA4499", "clapp": "#117733", "infonce": "#88CCEE", "vicreg": "#DDCC77",
         "ff": "#882255", "bp_masked": "#6699CC", "readout": "#888888"}


def test_every_rule_has_a_label_and_a_colour_of_the_palette() -> None:
    for name, cls in RULES.items():
        assert cls.label and cls.family in styles.FAMILY_COLORS, name
        assert rule_color(name) in PALETTE.values(), name


def test_the_book_s_rules_keep_their_colours() -> None:
    assert {name: rule_color(name) for name in KNOWN} == KNOWN
    assert len(set(KNOWN.values())) == len(KNOWN)  # one rule, one colour


def test_a_global_twin_has_its_local_rule_s_colour() -> None:
    twins = [name for name, cls in RULES.items() if cls.family == "global"]
    assert twins
    for twin in twins:
        assert rule_color(twin) == rule_color(twin.removesuffix("_global"))


def test_palettes_are_distinct_hex() -> None:
    assert len(set(PALETTE.values())) == len(PALETTE)
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in (*PALETTE.values(), *COLORS))
    assert not set(COLORS) & set(PALETTE.values())  # a plain name never looks like a rule


def test_a_rule_without_a_colour_takes_its_family_s() -> None:
    @register
    class Unshown(Rule):
        name = "unshown"
        label = "unshown"
        family = "feedback"

    @register
    class Unknown(Rule):
        name = "unknown"
        color = "orange"

    try:
        assert rule_color("unshown") == PALETTE[styles.FAMILY_COLORS["feedback"]]
        with pytest.raises(ValueError, match="declares the colour 'orange'"):
            rule_color("unknown")
    finally:
        RULES.pop("unshown")
        RULES.pop("unknown")
    with pytest.raises(ValueError, match="rule must be one of"):
        rule_color("nothing")


def test_styles_colour_a_variant_by_its_rule_and_a_plain_name_by_order() -> None:
    style = Styles()
    clapp = style(Variant("CLAPP (local)", "clapp"))
    twin = style(Variant("CLAPP (global, top)", "clapp_global"))
    plain = [style(name) for name in ("m = 4", "m = 8")]
    assert clapp["color"] == twin["color"] == KNOWN["clapp"]
    assert (clapp["dash"], twin["dash"]) == ("solid", "dash")
    assert twin["symbol"] != clapp["symbol"] and twin["pattern"] != clapp["pattern"]
    assert [s["color"] for s in plain] == list(COLORS[:2])
    again = style(Variant("CLAPP (local)", "clapp"))  # the same curve in another panel
    assert again["dash"] == "solid" and clapp["first"] is False


def test_colours_run_out_into_dashes() -> None:
    style = Styles()
    looks = [style(f"curve {k}") for k in range(len(COLORS) + 1)]
    assert looks[-1]["color"] == looks[0]["color"] and looks[-1]["dash"] != looks[0]["dash"]


def test_a_variant_is_its_label_and_keeps_its_rule() -> None:
    v = feedback.VARIANTS["PEPITA"]
    assert v == "PEPITA" and {v: 1}["PEPITA"] == 1 and repr(v) == "'PEPITA'"
    assert (v.rule, v.options, v.label) == ("pepita", {"f_scale": 0.05}, "PEPITA")
    for copied in (pickle.loads(pickle.dumps(v)), copy.deepcopy(v)):
        assert (copied, copied.rule, copied.options) == (v, v.rule, v.options)
    seeds = v.relabelled("PEPITA (3 seeds)")
    assert (seeds, seeds.rule, seeds.options) == ("PEPITA (3 seeds)", v.rule, v.options)
    assert f"{v} (3 seeds)" == "PEPITA (3 seeds)"


def test_label_of_gives_the_variant_itself() -> None:
    config = local.ssl_config("CLAPP (global, top)", 1000, 0)
    assert local.label(config) is local.LABELS["CLAPP (global, top)"]
    assert local.label(config).rule == "clapp_global"


def test_rule_label_is_the_rule_s_display_name() -> None:
    assert [rule_label(r) for r in ("bp", "ff", "clapp_global")] == [
        "BP", "Forward-Forward", "CLAPP (global)"]
    assert rule_label("pepita").rule == "pepita" and rule_label("pepita").options == {}
    with pytest.raises(ValueError, match="rule must be one of"):
        rule_label("nothing")
