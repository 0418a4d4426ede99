"""MNIST-1D (issue 24): seeded disjoint splits, encoding, the block cache, every rule family
on it, its runs in the sweep cache, and RHM configs keeping their keys."""

import hashlib
import importlib
import inspect
import json
import os
import sys
import warnings

import numpy as np
import pytest
import torch

from rhmlib import fingerprint, mnist1d
from rhmlib.fingerprint import CORE, PACKAGE, code_fingerprint, file_digest
from rhmlib.mnist1d import GENERATION, MNIST1D, resolve, run_mnist1d
from rhmlib.probes import PROBES
from rhmlib.rhm import REFERENCE
from rhmlib.rules import RULES
from rhmlib.sweeps import SWEEPS, Run, load_run, run_key, run_sweep, runs_of
from rhmlib.train import resolve as resolve_rhm

pytest.importorskip("mnist1d")

TINY = {"P": 30, "n_test": 20, "n_val": 10, "width": 8, "steps": 4, "eval_every": 2}


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory: pytest.TempPathFactory):
    """One block cache for the module's tests (never the user's)."""
    folder, before = tmp_path_factory.mktemp("mnist1d"), os.environ.get("RHMLIB_CACHE")
    os.environ["RHMLIB_CACHE"] = str(folder)
    yield folder
    if before is None:
        del os.environ["RHMLIB_CACHE"]
    else:
        os.environ["RHMLIB_CACHE"] = before


def _rows(sample) -> set[bytes]:
    return {row.tobytes() for row in sample.x.numpy()}


def test_generation_arguments_are_the_published_data_sets() -> None:
    from mnist1d.data import get_dataset_args

    args = get_dataset_args(as_dict=True)
    assert GENERATION == {k: v for k, v in args.items()
                          if k not in ("num_samples", "train_split", "seed", "url", "shuffle_seq")}


def test_splits_are_disjoint_seeded_and_nested() -> None:
    data = MNIST1D()
    train, test, val = data.splits(50, 30, 20, seed=0)
    assert (len(train), len(test), len(val)) == (50, 30, 20)
    assert train.x.shape == (50, 40) and train.x.dtype == torch.float32
    assert int(train.y.min()) >= 0 and int(train.y.max()) < 10
    rows = [_rows(part) for part in (train, test, val)]
    assert sum(map(len, rows)) == len(set().union(*rows)) == 100  # distinct and disjoint
    again = data.splits(50, 30, 20, seed=0)
    assert all(torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
               for a, b in zip((train, test, val), again))
    other = data.splits(50, 30, 20, seed=1)
    assert not _rows(other[1]) & rows[1]
    bigger = data.splits(80, 30, 20, seed=0)  # growing P keeps test and validation
    assert torch.equal(bigger[1].x, test.x) and torch.equal(bigger[2].x, val.x)
    assert torch.equal(bigger[0].x[:50], train.x)


def test_sample_distinct_skips_what_is_excluded() -> None:
    data = MNIST1D()
    stream = data.sample_distinct(15, seed=7)
    rest = data.sample_distinct(5, seed=7, exclude=stream[torch.arange(10)], name="unlabelled")
    assert torch.equal(rest.x, stream.x[10:]) and torch.equal(rest.y, stream.y[10:])
    assert len(data.sample_distinct(0, seed=7)) == 0
    with pytest.raises(ValueError, match="unlabelled must be >= 0"):
        data.sample_distinct(-1, name="unlabelled")
    with pytest.raises(TypeError, match="exclude must be a Sample"):
        data.sample_distinct(1, exclude=stream.x)


@pytest.mark.parametrize("s, L, offset", [(2, 6, 12), (4, 3, 12), (3, 4, 20), (2, 7, 44)])
def test_encode_centres_the_signal_with_its_mask(s: int, L: int, offset: int) -> None:
    data = MNIST1D(s, L)
    x = data.sample_distinct(3, seed=0).x
    encoded = data.encode(x)
    assert encoded.shape == (3, s**L, 2) and data.offset == offset
    assert torch.equal(encoded[:, offset:offset + 40, 0], x)
    assert encoded[:, :, 1].sum() == 3 * 40 and encoded[:, offset:offset + 40, 1].all()
    assert not encoded[:, :offset].any() and not encoded[:, offset + 40:].any()


def test_arguments_are_checked() -> None:
    data = MNIST1D()
    with pytest.raises(ValueError, match=r"x must have shape \[n, 40\]"):
        data.encode(torch.zeros(2, 64))
    with pytest.raises(TypeError, match="real-valued"):
        data.encode(torch.zeros(2, 40, dtype=torch.long))
    with pytest.raises(ValueError, match="finite"):
        data.encode(torch.full((1, 40), float("nan")))
    with pytest.raises(ValueError, match=r"s\*\*L .* must be in \[40"):
        MNIST1D(2, 5)
    with pytest.raises(ValueError, match="s must be in"):
        MNIST1D(1, 6)
    with pytest.raises(TypeError, match="unknown generation argument"):
        MNIST1D(generation={"seed": 3})
    with pytest.raises(ValueError, match="padding.*must be in"):
        MNIST1D(generation={"padding": [10, 5]})
    with pytest.raises(ValueError, match="scale_coeff"):
        MNIST1D(generation={"scale_coeff": -1.0})
    with pytest.raises(ValueError, match="P must be >= 1"):
        data.splits(0, 10, 10)
    with pytest.raises(TypeError, match="set the RHM's grammar"):
        resolve({"P": 10, "m": 4})
    with pytest.raises(ValueError, match="pairs='oracle'"):
        resolve({"P": 10, "rule": "clapp", "rule_options": {"pairs": "oracle"}})
    with pytest.raises(ValueError, match="dataset must be 'mnist1d'"):
        resolve({"P": 10, "dataset": "cifar"})
    with pytest.raises(TypeError, match="unknown option"):
        resolve({"P": 10, "nonsense": 1})


def test_a_missing_package_names_the_install_command(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "mnist1d", None)
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)
    with pytest.raises(ImportError, match="pip install mnist1d"):
        MNIST1D(cache=tmp_path).sample_distinct(1)
    assert resolve({"P": 10})["dataset"] == "mnist1d"  # configs and keys need no package


def test_blocks_are_cached_and_a_corrupt_file_is_regenerated(tmp_path, monkeypatch) -> None:
    data = MNIST1D(cache=tmp_path)
    x, y = data.block(0, 0)
    path = data.block_path(0, 0)
    assert path.parent == tmp_path and x.shape == (mnist1d.BLOCK, 40) and y.shape == x.shape[:1]
    generate = data._generate
    monkeypatch.setattr(data, "_generate", lambda seed: pytest.fail("regenerated"))
    cached = data.block(0, 0)
    assert np.array_equal(cached[0], x) and np.array_equal(cached[1], y)
    monkeypatch.setattr(data, "_generate", generate)
    tampered = x.copy()
    tampered[0, 0] += 1.0
    for corrupt in (lambda: path.write_bytes(path.read_bytes()[:100]),  # truncated
                    lambda: path.write_bytes(b"not an npz"),
                    lambda: np.savez(path, x=tampered, y=y, digest=mnist1d._digest(x, y))):
        corrupt()
        with pytest.warns(UserWarning, match="corrupt MNIST-1D cache"):
            again = data.block(0, 0)
        assert np.array_equal(again[0], x) and np.array_equal(again[1], y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data.block(0, 0)  # rewritten whole


def test_generation_leaves_the_global_generators_alone(tmp_path) -> None:
    np.random.seed(5)
    expected = np.random.rand()
    np.random.seed(5)
    MNIST1D(cache=tmp_path).block(3, 0)
    assert np.random.rand() == expected


@pytest.mark.parametrize("rule, options", [
    ("bp", {}), ("bp", {"model": "fcn"}), ("fa", {}), ("dfa", {}), ("clapp", {}),
    ("vicreg", {"L": 3, "s": 4})])
def test_every_family_runs_on_mnist1d(rule: str, options: dict) -> None:
    result = run_mnist1d(rule=rule, progress=False, **TINY, **options)
    assert 0 <= result.test_accuracy <= 1 and 0 <= result.val_accuracy <= 1
    assert len(result.stages) == RULES[rule].n_stages
    assert json.loads(json.dumps(result.config)) == resolve({"rule": rule, **TINY, **options})
    assert result.config["dataset"] == "mnist1d" and result.config["v"] == mnist1d.CHANNELS


def test_a_sweep_record_round_trips_through_the_cache(tmp_path, monkeypatch) -> None:
    configs = [{"dataset": "mnist1d", "rule": "bp", **TINY}]
    (first,) = run_sweep(configs, root=tmp_path)
    assert first["config"]["dataset"] == "mnist1d" and "result" in first
    assert first["code"] == code_fingerprint("bp", (), "mnist1d") != code_fingerprint("bp")
    assert "mnist1d.py" in {f.name for f in fingerprint.source_files("bp", (), "mnist1d")}
    assert "mnist1d.py" not in {f.name for f in fingerprint.source_files("bp")}
    execute = importlib.import_module("rhmlib.sweeps.execute")  # the module, not its function
    monkeypatch.setattr(execute, "run_mnist1d", lambda **_: pytest.fail("recomputed"))
    assert run_sweep(configs, root=tmp_path) == [first]
    assert load_run(configs[0], tmp_path) == first
    assert run_key(configs[0]) == first["key"] != run_key({**configs[0], "seed": 1})
    with pytest.raises(ValueError, match="dataset must be one of"):
        run_key({**configs[0], "dataset": "cifar"})


def test_the_chapter_sweeps_are_mnist1d_runs_on_disjoint_seeds() -> None:
    from rhmlib.sweeps import mnist1d as sweeps

    scan = SWEEPS["mnist1d_lr"]()
    assert len(scan) == 6 * 3 * 3
    for config in scan[::7]:
        full = resolve(config)
        assert full["dataset"] == "mnist1d" and full["P"] == 4000
    # Each rule's grid: 0.1, 0.3 and 1 times its base rate, one base per rule.
    assert {c["lr"] for c in scan if c["rule"] == "bp"} == {0.02, 0.06, 0.2}
    assert set(sweeps.BASE_LRS) == set(sweeps.RULES)
    assert not set(sweeps.SELECTION_SEEDS) & set(sweeps.HEADLINE_SEEDS)
    assert {c["seed"] for c in scan} == set(sweeps.SELECTION_SEEDS)


def _old_key(config: dict, probes: tuple[str, ...]) -> str:
    """A run's key as it was computed before other data sets existed (written out again)."""
    full = json.loads(json.dumps(resolve_rhm(config)))
    cls = RULES[full["rule"]]
    files = {PACKAGE / name for name in CORE}
    files |= {PACKAGE / name for probe in probes for name in PROBES[probe].files}
    files |= {fingerprint.Path(inspect.getsourcefile(k)).resolve() for k in cls.__mro__
              if k.__module__.startswith("rhmlib.")}
    digests = {f.relative_to(PACKAGE).as_posix(): file_digest(f) for f in files if f.exists()}
    code = hashlib.sha256(repr(sorted(digests.items())).encode()).hexdigest()
    return hashlib.sha256(json.dumps({"config": full, "code": code}, sort_keys=True)
                          .encode()).hexdigest()[:20]


def test_rhm_configs_keep_their_keys() -> None:
    runs = [Run({**REFERENCE, "P": 1000, "rule": rule, "seed": 3}, probes)
            for rule in RULES for probes in ((), ("angles",))]
    for name in ("bp_reference", "fcn_reference", "recipes_carry"):
        runs += runs_of(name)[::7]
    for run in runs:
        assert "dataset" not in run.config
        assert run.key == _old_key(run.config, run.probes), run.config
