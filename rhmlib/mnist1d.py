"""MNIST-1D behind the data-set protocol of the training loop, and ``run_mnist1d``.

MNIST-1D (Greydanus and Kobak, "Scaling down deep learning with MNIST-1D", ICML 2024;
arXiv:2011.14439, 2020) turns ten hand-drawn 1-D templates into 40-sample real-valued
signals by padding, dilation, scaling, translation, correlated and independent noise and
shear. The ``mnist1d`` package (``pip install mnist1d``) builds it offline with
``make_dataset(args)``; nothing here ever downloads.

**Samples.** A seed names an endless stream of samples, generated in blocks of
:data:`BLOCK` (one ``make_dataset`` call each, its seed hashed from the stream's seed and
the block's index) and cached on disk (:func:`cache_dir`), keyed by the generation
arguments: a corrupt file is detected (its checksum, shapes and values) and regenerated.
Each block is standardised by ``make_dataset`` itself (zero mean, unit variance over the
block). :meth:`MNIST1D.sample_distinct` takes the first ``n`` samples of a stream that
are not among those excluded (compared exactly, so that the splits are disjoint whatever
the seeds); :meth:`MNIST1D.splits` draws the test, validation and training sets from
three streams of the run's seed, as :meth:`rhmlib.rhm.RHM.splits` does: the test set
depends only on ``(n_test, seed)``, growing ``P`` keeps it fixed and nests the training
sets. A sample is a :class:`rhmlib.rhm.Sample` of two levels, ``[labels, signals]``:
``x`` is the float signal ``[n, 40]``, ``y`` the class, and there is no tree to parse
(the rules' oracle pairs, which need one, are refused).

**Encoding and tiling.** The hierarchical CNN (:class:`rhmlib.models.HierarchicalCNN`)
tiles its input with non-overlapping patches of ``s`` positions, ``L`` times, so its
input has ``s**L`` positions: the 40 samples are centred in :data:`S` ``**`` :data:`L`
``= 64`` positions (``s = 2, L = 6``: the finest patches, two samples, and the same
binary tree as the book's reference grammar; 12 positions of padding on each side keep
every patch of up to four samples inside the signal or outside it). The input has two
channels: the signal, and a mask that is 1 on the signal and 0 on the padding, which
gives the bias-free first layer a bias on the signal while the padding stays silent
(the models also need at least two channels). The shallow MLP (``model="fcn"``) sees the
same 128 numbers.

**Positive pairs.** The self-supervised rules' sibling pairs work unchanged: a node's
context is the neighbouring window of the same signal under the same parent (at the
first layer, the next two samples); negatives are that window of another signal.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
import time
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from .checks import check_float, check_int, check_list, check_memory, check_path
from .models import LayeredNet, build_model
from .rhm import Sample, _derive
from .rules import Batch, Rule
from .streams import derive
from .train import ExperimentResult, fit, pick_device
from .train import resolve as resolve_rhm

__all__ = ["NAME", "GENERATION", "BLOCK", "N_CLASSES", "CHANNELS", "S", "L", "MNIST1D",
           "cache_dir", "check_generation", "check_tiling", "resolve", "run_mnist1d"]

NAME = "mnist1d"
# The arguments of mnist1d.data.get_dataset_args() that shape a sample, at the package's
# defaults (those of the published data set). Pinned here rather than read from the
# package, so that a release with other defaults cannot change data under the same key.
# The seed, the number of samples and the split are per block; shuffle_seq permutes the
# positions anew in every make_dataset call, so blocks would not agree: never set.
GENERATION = {"template_len": 12, "padding": [36, 60], "scale_coeff": 0.4,
              "max_translation": 48, "corr_noise_scale": 0.25, "iid_noise_scale": 0.02,
              "shear_scale": 0.75, "final_seq_length": 40}
BLOCK = 1000  # samples per make_dataset call and cache file (0.2 s, 160 kB)
N_CLASSES = 10
CHANNELS = 2  # the signal and its mask (see the module doc)
S, L = 2, 6  # the default tiling: 64 positions for the 40 samples
INSTALL = "pip install mnist1d==0.0.2.post1 (or pip install 'rhmlib[mnist1d]')"


def check_generation(generation: object) -> dict:
    """The full generation arguments: :data:`GENERATION` updated by ``generation``, checked."""
    if generation is None:
        return dict(GENERATION)
    if not isinstance(generation, dict):
        raise TypeError(f"generation must be a dict of mnist1d arguments, got {generation!r}")
    unknown = sorted(set(generation) - set(GENERATION))
    if unknown:
        raise TypeError(f"unknown generation argument(s) {unknown}; allowed: {sorted(GENERATION)}")
    out = {**GENERATION, **generation}
    padding = check_list("generation['padding']", out["padding"])
    if len(padding) != 2:
        raise ValueError(f"generation['padding'] must be [low, high], got {padding!r}")
    low = check_int("generation['padding'][0]", padding[0], 0, 10**4)
    out["padding"] = [low, check_int("generation['padding'][1]", padding[1], low, 10**4)]
    for name in ("template_len", "max_translation"):
        out[name] = check_int(f"generation[{name!r}]", out[name], 1, 10**4)
    out["final_seq_length"] = check_int("generation['final_seq_length']",
                                        out["final_seq_length"], 2, 2**12)
    out["scale_coeff"] = check_float("generation['scale_coeff']", out["scale_coeff"], 0.0, 2.0)
    for name in ("corr_noise_scale", "iid_noise_scale", "shear_scale"):
        out[name] = check_float(f"generation[{name!r}]", out[name], 0.0, 1e3)
    return out


def cache_dir() -> Path:
    """Where generated blocks are kept: ``$RHMLIB_CACHE``, else the user's cache folder."""
    root = os.environ.get("RHMLIB_CACHE") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rhmlib"
    return Path(root) / NAME


def _package() -> tuple[Callable, Callable, str]:
    """``make_dataset``, ``get_dataset_args`` and the version of the mnist1d package."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as err:
        raise ImportError(f"MNIST-1D needs the mnist1d package, an optional dependency of "
                          f"rhmlib: {INSTALL}") from err
    return make_dataset, get_dataset_args, metadata.version("mnist1d")


def _block_seed(seed: int, index: int) -> int:
    """The 32-bit seed (numpy's range) of block ``index`` of stream ``seed``."""
    digest = hashlib.sha256(f"{NAME}/{seed}/{index}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _digest(x: np.ndarray, y: np.ndarray) -> str:
    return hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()


def check_tiling(s: int, L: int, length: int) -> tuple[int, int]:
    """``(s, L)`` if ``s**L`` positions hold a signal of ``length`` samples, or a clear error."""
    s, L = check_int("s", s, 2, 64), check_int("L", L, 1, 16)
    if not length <= s**L <= 2**16:
        raise ValueError(f"s**L (the CNN's input length) must be in [{length}, {2**16}] to "
                         f"hold the {length} samples of a signal, got s={s}, L={L} "
                         f"(s**L={s**L})")
    return s, L


class MNIST1D:
    """MNIST-1D signals from seeded streams, encoded for a tree CNN of ``s**L`` positions.

    ``generation`` overrides arguments of :data:`GENERATION`; ``cache`` is the folder of
    generated blocks (default :func:`cache_dir`). See the module doc.
    """

    def __init__(self, s: int = S, L: int = L, generation: dict | None = None,
                 cache: str | Path | None = None) -> None:
        self.generation = check_generation(generation)
        self.length = self.generation["final_seq_length"]
        self.s, self.L = check_tiling(s, L, self.length)
        self.positions = self.s**self.L
        self.offset = (self.positions - self.length) // 2
        self.cache = cache_dir() if cache is None else check_path("cache", cache)

    def __repr__(self) -> str:
        return f"MNIST1D(s={self.s}, L={self.L}, generation={self.generation})"

    # -- generation and its cache ------------------------------------------------------
    def _args(self, seed: int) -> dict:
        """``make_dataset``'s arguments of the block of numpy seed ``seed``."""
        return {**self.generation, "num_samples": BLOCK, "train_split": 1.0,
                "shuffle_seq": False, "seed": seed}

    def block_path(self, seed: int, index: int) -> Path:
        """The cache file of block ``index`` of stream ``seed``."""
        _, _, version = _package()
        key = json.dumps({"args": self._args(_block_seed(seed, index)), "mnist1d": version},
                         sort_keys=True)
        return self.cache / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"

    def block(self, seed: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Signals ``[BLOCK, length]`` (float32) and labels of one block, from the cache."""
        path = self.block_path(seed, index)
        if path.exists():
            try:
                return self._read(path)
            except Exception as err:  # whatever is wrong with it, it is not used
                warnings.warn(f"corrupt MNIST-1D cache {path} ({type(err).__name__}: {err}); "
                              "regenerating it", stacklevel=2)
        x, y = self._generate(_block_seed(seed, index))
        self._write(path, x, y)
        return x, y

    def _generate(self, seed: int) -> tuple[np.ndarray, np.ndarray]:
        make_dataset, get_dataset_args, _ = _package()
        args = get_dataset_args()
        args.__dict__.update(self._args(seed))
        # make_dataset seeds numpy's and Python's global generators: leave them as found.
        states = np.random.get_state(), random.getstate()
        try:
            data = make_dataset(args)
        finally:
            np.random.set_state(states[0])
            random.setstate(states[1])
        return data["x"].astype(np.float32), data["y"].astype(np.int64)

    def _read(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        with np.load(path, allow_pickle=False) as file:
            x, y, digest = file["x"], file["y"], str(file["digest"])
        if x.shape != (BLOCK, self.length) or x.dtype != np.float32 or y.shape != (BLOCK,):
            raise ValueError(f"shapes {x.shape} {x.dtype}, {y.shape}")
        if digest != _digest(x, y):
            raise ValueError("checksum mismatch")
        if not np.isfinite(x).all() or y.min() < 0 or y.max() >= N_CLASSES:
            raise ValueError("values out of range")
        return x, y

    def _write(self, path: Path, x: np.ndarray, y: np.ndarray) -> None:
        # A temporary of our own, renamed: a reader never sees half a file.
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                np.savez(file, x=x, y=y, digest=np.array(_digest(x, y)))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # -- the Dataset protocol ----------------------------------------------------------
    def sample_distinct(self, n: int, seed: int = 0, exclude: Sample | None = None,
                        name: str = "n") -> Sample:
        """The first ``n`` distinct samples of stream ``seed`` that are not in ``exclude``.

        ``name`` is how error messages call ``n`` (the caller's own parameter).
        """
        n = check_int(name, n, 0)
        check_memory(f"{name}={n}", n * self.length * 4.0)
        seed = check_int("seed", seed, 0, 2**63 - 1)
        taken = set()
        if exclude is not None:
            taken = {row.tobytes() for row in self._check_sample("exclude", exclude).x.numpy()}
        xs, ys, count, index = [], [], 0, 0
        while count < n:
            x, y = self.block(seed, index)
            index += 1
            keep = []
            for i, row in enumerate(x):
                key = row.tobytes()
                if key not in taken:
                    taken.add(key)
                    keep.append(i)
            keep = keep[: n - count]
            xs.append(x[keep])
            ys.append(y[keep])
            count += len(keep)
        x = np.concatenate(xs) if xs else np.zeros((0, self.length), np.float32)
        y = np.concatenate(ys) if ys else np.zeros(0, np.int64)
        return Sample([torch.from_numpy(y)[:, None], torch.from_numpy(x)])

    def splits(self, P: int, n_test: int, n_val: int, seed: int = 0
               ) -> tuple[Sample, Sample, Sample]:
        """Disjoint training, test and validation sets of ``P``, ``n_test``, ``n_val`` signals.

        As :meth:`rhmlib.rhm.RHM.splits`: the test set depends only on ``(n_test, seed)``
        and the validation set only on ``(n_test, n_val, seed)``.
        """
        P = check_int("P", P, 1)
        n_test, n_val = check_int("n_test", n_test, 0), check_int("n_val", n_val, 0)
        check_memory(f"P={P}, n_test={n_test}, n_val={n_val}",
                     (P + n_test + n_val) * self.length * 4.0)
        test = self.sample_distinct(n_test, seed=_derive(seed, 1), name="n_test")
        val = self.sample_distinct(n_val, seed=_derive(seed, 3), exclude=test, name="n_val")
        train = self.sample_distinct(P, seed=_derive(seed, 2), exclude=Sample.cat([test, val]),
                                     name="P")
        return train, test, val

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Signals ``[n, length]`` as the model's input ``[n, s**L, 2]``: signal and mask."""
        x = self._check_signals("x", x)
        check_memory(f"x of {len(x)} signals", len(x) * self.positions * CHANNELS * 4.0)
        out = torch.zeros(len(x), self.positions, CHANNELS)
        window = slice(self.offset, self.offset + self.length)
        out[:, window, 0] = x
        out[:, window, 1] = 1.0
        return out

    def _check_signals(self, name: str, x: object) -> torch.Tensor:
        """``x`` as a float32 tensor ``[n, length]`` of finite values, or a clear error."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a tensor of signals, got {type(x).__name__}")
        if not x.dtype.is_floating_point:
            raise TypeError(f"{name} must hold real-valued signals, got dtype {x.dtype}")
        if x.ndim != 2 or x.shape[1] != self.length:
            raise ValueError(f"{name} must have shape [n, {self.length}], got {tuple(x.shape)}")
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} must hold finite values")
        return x.float()

    def _check_sample(self, name: str, sample: object) -> Sample:
        """``sample`` if it is a :class:`Sample` of this data set's signals, or a clear error."""
        if not isinstance(sample, Sample):
            raise TypeError(f"{name} must be a Sample, got {type(sample).__name__}")
        if len(sample.hidden) != 2:
            raise ValueError(f"{name} must have 2 levels (labels, signals), got "
                             f"{len(sample.hidden)}")
        self._check_signals(f"{name}.x", sample.x)
        return sample


def resolve(config: dict) -> dict:
    """The full config of an MNIST-1D run (:func:`run_mnist1d`'s arguments), JSON-ready.

    Every setting left out comes from the rule's recipe, as for the RHM
    (:func:`rhmlib.train.resolve`, which fills them): the result holds ``"dataset":
    "mnist1d"``, the generation arguments and the tiling ``s``, ``L``; ``v`` is the
    number of input channels and ``n_c`` the number of classes.
    """
    config = dict(config)
    dataset = config.pop("dataset", NAME)
    if dataset != NAME:
        raise ValueError(f"dataset must be {NAME!r} here, got {dataset!r}")
    rhm_only = sorted({"v", "n_c", "m", "grammar_seed"} & set(config))
    if rhm_only:
        raise TypeError(f"{rhm_only} set the RHM's grammar; MNIST-1D has none")
    generation = check_generation(config.pop("generation", None))
    s, depth = check_tiling(config.pop("s", S), config.pop("L", L),
                            generation["final_seq_length"])
    full = resolve_rhm({**config, "v": CHANNELS, "n_c": N_CLASSES, "m": 1, "s": s, "L": depth})
    del full["m"], full["grammar_seed"]
    if full["rule_options"].get("pairs") == "oracle":
        raise ValueError("pairs='oracle' redraws the RHM's hidden tree, which MNIST-1D does "
                         "not have: use pairs='sibling' (neighbouring windows)")
    return {"dataset": NAME, **full, "generation": generation}


def run_mnist1d(
    P: int,
    rule: str = "bp",
    width: int = 64,
    seed: int = 0,
    *,
    model: str = "cnn",
    s: int = S,
    L: int = L,
    activation: str = "relu",
    n_test: int = 4000,
    n_val: int | None = None,
    generation: dict | None = None,
    progress: bool | None = None,
    rule_options: dict | None = None,
    callback: Callable[[int, Rule, Batch], None] | None = None,
    device: str = "cpu",
    **train_options: object,
) -> ExperimentResult:
    """Train a model on ``P`` MNIST-1D signals with ``rule``; test on a disjoint set.

    :func:`rhmlib.train.run_experiment` on MNIST-1D: the same arguments (``s`` and ``L``
    tile the signal, ``generation`` replaces the grammar), every setting left out from
    the rule's recipe (:func:`resolve`), the stages chained by :func:`rhmlib.train.fit`.
    """
    start = time.perf_counter()
    pick_device(device)  # a bad device is refused before anything is generated
    config = resolve({"P": P, "rule": rule, "width": width, "seed": seed, "model": model,
                      "s": s, "L": L, "activation": activation, "n_test": n_test,
                      "n_val": n_val, "generation": generation, "rule_options": rule_options,
                      **train_options})
    data = MNIST1D(config["s"], config["L"], config["generation"])
    net: LayeredNet = build_model(config["model"], config["v"], config["s"], config["L"],
                                  config["width"], config["n_c"], seed=derive(seed, "init"),
                                  activation=config["activation"])
    return fit(data, net, config, data.splits(config["P"], config["n_test"], config["n_val"],
                                              config["seed"]),
               progress=progress, callback=callback, device=device, start=start)

