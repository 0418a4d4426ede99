"""The Random Hierarchy Model (Cagnetta, Petrini, Tomasini, Favero, Wyart, PRX 2024).

A grammar of depth ``L``: each of the ``n_c`` root symbols (the classes) and each of
the ``v`` symbols of the levels below has ``m`` production rules, each producing an
``s``-tuple of symbols of the next level. Tuples are never shared within a level, so
every input parses back to a unique tree of hidden variables.

Sampling goes top-down and is fully vectorised: it never enumerates the input space,
so depths whose number of distinct inputs exceeds int64 work as well.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .checks import check_int
from .streams import derive

__all__ = ["RHM", "Sample", "REFERENCE", "check_int", "p_star", "n_inputs"]

# Tuple codes are base-v integers held in int64.
_MAX_TUPLE_SPACE = 2**62
# Tuple spaces up to this size are permuted whole (well under a millisecond); larger
# ones only when the rules take a large share of them, else rejection sampling is faster.
_RANDPERM_LIMIT = 2**16
# Inputs longer than this would not fit a one-hot batch in memory anyway.
_MAX_INPUT_LENGTH = 2**16
# Memory a single call may allocate for tokens, rule tables or one-hot encodings: a
# request above it is refused with its estimate instead of exhausting the machine.
MEMORY_LIMIT = 2**31


# The book's reference grammar: every chapter starts from it.
REFERENCE = {"v": 16, "n_c": 16, "m": 4, "s": 2, "L": 3}


def p_star(n_c: int, m: int, L: int) -> int:
    """Backprop's sample-complexity scale of a grammar, ``P* = n_c m^L``."""
    return n_c * m**L


def n_inputs(n_c: int, m: int, s: int, L: int) -> int:
    """The number of distinct inputs of a grammar, ``n_c m^((s^L - 1) / (s - 1))``."""
    return n_c * m ** ((s**L - 1) // (s - 1))


def _check_memory(subject: str, what: str, n_bytes: int) -> None:
    if n_bytes > MEMORY_LIMIT:
        raise ValueError(f"{subject} is too large: {what} would need about "
                         f"{n_bytes / 2**30:.3g} GiB (limit {MEMORY_LIMIT / 2**30:g} GiB)")


def _power_at_most(base: int, exponent: int, bound: int) -> bool:
    """Whether ``base**exponent <= bound``, without computing a huge power."""
    # Logarithms first (a power of 10**9 digits would hang), exact arithmetic near the bound.
    if exponent * math.log2(base) > math.log2(bound) + 1:
        return False
    return base**exponent <= bound


def _generator(seed: int) -> torch.Generator:
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


@dataclass
class Sample:
    """A batch of RHM inputs with their labels and full trees of hidden variables.

    ``hidden[l]`` holds the level-``l`` symbols, shape ``[n, s**l]``: ``hidden[0]`` is
    the label as ``[n, 1]`` and ``hidden[L]`` is ``x``.
    """

    hidden: list[torch.Tensor]

    @property
    def x(self) -> torch.Tensor:
        """Input tokens, int64 ``[n, s**L]``."""
        return self.hidden[-1]

    @property
    def y(self) -> torch.Tensor:
        """Labels (root symbols), int64 ``[n]``."""
        return self.hidden[0][:, 0]

    def __len__(self) -> int:
        return self.hidden[0].shape[0]

    def __getitem__(self, index: slice | torch.Tensor) -> Sample:
        return Sample([h[index] for h in self.hidden])

    @staticmethod
    def cat(samples: list[Sample]) -> Sample:
        """Concatenate samples of the same grammar along the batch dimension."""
        return Sample([torch.cat(levels) for levels in zip(*(s.hidden for s in samples))])


class RHM:
    """A Random Hierarchy Model grammar: ``rules[l]`` is ``[n_symbols_l, m, s]``."""

    def __init__(self, v: int, n_c: int, m: int, s: int, L: int, seed: int = 0) -> None:
        self.v = check_int("v", v, 2)
        self.n_c = check_int("n_c", n_c, 2)
        self.m = check_int("m", m, 1)
        self.s = check_int("s", s, 2)
        self.L = check_int("L", L, 1)
        self.seed = check_int("seed", seed, 0, 2**63 - 1)
        if not _power_at_most(self.v, self.s, _MAX_TUPLE_SPACE):
            raise ValueError(
                f"v**s must be <= 2**62 so that tuples fit in int64, got v={self.v}, s={self.s}"
            )
        if not _power_at_most(self.s, self.L, _MAX_INPUT_LENGTH):
            raise ValueError(f"s**L (the input length) must be <= {_MAX_INPUT_LENGTH}, got "
                             f"s={self.s}, L={self.L}")
        n_tuples = self.v**self.s
        if self.m * self.n_c > n_tuples:
            raise ValueError(
                f"m must be <= v**s / n_c = {n_tuples // self.n_c} so that root rules do not "
                f"share tuples, got m={m} (m*n_c={self.m * self.n_c} > v**s={n_tuples})"
            )
        if self.L >= 2 and self.m * self.v > n_tuples:
            raise ValueError(
                f"m must be <= v**s / v = {n_tuples // self.v} so that rules of one level do "
                f"not share tuples, got m={m} (m*v={self.m * self.v} > v**s={n_tuples})"
            )
        n_rules = (self.n_c + (self.L - 1) * self.v) * self.m
        _check_memory(f"m={self.m}", f"{n_rules:.3g} production rules", n_rules * self.s * 24)
        gen = _generator(self.seed)
        self.rules: list[torch.Tensor] = []
        for level in range(self.L):
            n_symbols = self.n_c if level == 0 else self.v
            codes = self._distinct_codes(n_symbols * self.m, gen)
            self.rules.append(self._decode(codes).reshape(n_symbols, self.m, self.s))
        self._flat_rules = [r.reshape(-1, self.s).to(torch.int32) for r in self.rules]
        # Sorted tuple codes per level, for parsing inputs back to their trees.
        self._parse_tables = [self._parse_table(r) for r in self.rules]

    def __repr__(self) -> str:
        return (
            f"RHM(v={self.v}, n_c={self.n_c}, m={self.m}, s={self.s}, L={self.L}, "
            f"seed={self.seed})"
        )

    @property
    def input_length(self) -> int:
        """Number of leaf positions, ``s**L``."""
        return self.s**self.L

    @property
    def n_inputs(self) -> int:
        """Exact number of distinct inputs, :func:`n_inputs`."""
        return n_inputs(self.n_c, self.m, self.s, self.L)

    @property
    def p_star(self) -> int:
        """The sample-complexity scale of backprop on a matched CNN, :func:`p_star`."""
        return p_star(self.n_c, self.m, self.L)

    def _check_size(self, name: str, n: int) -> int:
        """``n`` as an int if ``n`` inputs with their trees fit the memory limit."""
        n = check_int(name, n, 0)
        # Every level of the tree is kept: about s/(s-1) times the leaves, int64 each.
        _check_memory(f"{name}={n}", f"{n} inputs of length {self.input_length} with their "
                      "trees", n * self.input_length * 8 * 2)
        return n

    def _distinct_codes(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """Draw ``n`` distinct integers in ``[0, v**s)`` in random order."""
        space = self.v**self.s
        if space <= _RANDPERM_LIMIT or 4 * n > space:
            return torch.randperm(space, generator=gen)[:n]
        codes = torch.empty(0, dtype=torch.int64)
        while len(codes) < n:
            draw = torch.randint(0, space, (2 * (n - len(codes)),), generator=gen)
            codes = torch.cat([codes, draw])
            codes = codes[~_repeats(codes)]
        return codes[:n]

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Base-v digits of tuple codes, most significant first: ``[n, s]``."""
        powers = self.v ** torch.arange(self.s - 1, -1, -1, dtype=torch.int64)
        return (codes[:, None] // powers) % self.v

    def _encode(self, tuples: torch.Tensor) -> torch.Tensor:
        powers = self.v ** torch.arange(self.s - 1, -1, -1, dtype=torch.int64)
        return (tuples * powers).sum(-1)

    def _parse_table(self, rules: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        codes = self._encode(rules.reshape(-1, self.s))
        order = torch.argsort(codes)
        parents = torch.arange(rules.shape[0]).repeat_interleave(self.m)
        return codes[order], parents[order]

    def sample(self, n: int, seed: int = 0) -> Sample:
        """Draw ``n`` inputs (with possible repeats) with their hidden trees."""
        n = self._check_size("n", n)
        return self._draw(n, _generator(check_int("seed", seed, 0, 2**63 - 1)))

    def _expand(self, hidden: list[torch.Tensor], level: int, gen: torch.Generator) -> list:
        """Grow the trees from ``hidden[level]`` down to the leaves."""
        # int32 halves the memory traffic (the draws are identical to int64 ones);
        # the new levels are widened to int64 once, at the end.
        parents = hidden[level].to(torch.int32)
        grown = []
        for lv in range(level, self.L):
            choice = torch.randint(0, self.m, parents.shape, generator=gen, dtype=torch.int32)
            flat_rules = self._flat_rules[lv]
            children = flat_rules.index_select(0, (parents * self.m + choice).view(-1))
            parents = children.view(parents.shape[0], parents.shape[1] * self.s)
            grown.append(parents)
        return list(hidden[: level + 1]) + [h.long() for h in grown]

    def sample_distinct(self, n: int, seed: int = 0, exclude: Sample | None = None,
                        name: str = "n") -> Sample:
        """Draw ``n`` distinct inputs, none of them in ``exclude``, in random order.

        ``name`` is how error messages call ``n`` (the caller's own parameter).
        """
        n = self._check_size(name, n)
        if exclude is not None:
            self._check_sample("exclude", exclude)
        n_excluded = 0 if exclude is None else len(exclude)
        if n + n_excluded > self.n_inputs:
            raise ValueError(
                f"{name} must be <= {self.n_inputs - n_excluded} (the grammar has "
                f"{self.n_inputs} distinct inputs, {n_excluded} already taken), got {name}={n}"
            )
        gen = _generator(check_int("seed", seed, 0, 2**63 - 1))
        excluded = _row_keys(exclude.x if exclude is not None else self.sample(0).x)
        if 4 * (n + n_excluded) > self.n_inputs:
            # A large share of a small space: rejecting repeats would take ever longer
            # near the full space, so number the inputs and draw without replacement.
            every = self._enumerate(torch.randperm(self.n_inputs, generator=gen)[: n + n_excluded])
            return every[~torch.isin(_row_keys(every.x), excluded)][:n]
        sample = self._draw(n, gen)
        keys = _row_keys(sample.x)
        # Redraw repeats in place: fast when n is well below n_inputs, as in practice.
        while True:
            redo = _repeats(torch.cat([excluded, keys]))[n_excluded:].nonzero()[:, 0]
            if len(redo) == 0:
                return sample
            fresh = self._draw(len(redo), gen)
            for level, values in zip(sample.hidden, fresh.hidden):
                level[redo] = values
            keys[redo] = _row_keys(fresh.x)

    def _enumerate(self, index: torch.Tensor) -> Sample:
        """The inputs numbered ``index`` (in ``[0, n_inputs)``): the class, then one rule
        choice per internal node, as the digits of the number."""
        parents = (index % self.n_c)[:, None]
        rest = index // self.n_c
        hidden = [parents]
        for level in range(self.L):
            k = parents.shape[1]
            choice = (rest[:, None] // self.m ** torch.arange(k)) % self.m
            rest = rest // self.m**k
            flat = self.rules[level].reshape(-1, self.s)
            parents = flat[(parents * self.m + choice).view(-1)].view(len(index), k * self.s)
            hidden.append(parents)
        return Sample(hidden)

    def _draw(self, n: int, gen: torch.Generator) -> Sample:
        root = torch.randint(0, self.n_c, (n, 1), generator=gen)
        return Sample(self._expand([root], 0, gen))

    def train_test(self, P: int, n_test: int, seed: int = 0) -> tuple[Sample, Sample]:
        """A training set of ``P`` and a test set of ``n_test`` distinct, disjoint inputs.

        The test set depends only on ``(n_test, seed)``, so growing ``P`` keeps it fixed.
        """
        train, test, _ = self.splits(P, n_test, 0, seed)
        return train, test

    def splits(self, P: int, n_test: int, n_val: int, seed: int = 0
               ) -> tuple[Sample, Sample, Sample]:
        """Disjoint training, test and validation sets of ``P``, ``n_test``, ``n_val`` inputs.

        The test set depends only on ``(n_test, seed)`` and the validation set only on
        ``(n_test, n_val, seed)``, so growing ``P`` keeps both fixed.
        """
        P = self._check_size("P", check_int("P", P, 1))
        n_test = self._check_size("n_test", n_test)
        n_val = self._check_size("n_val", n_val)
        if P + n_test + n_val > self.n_inputs:
            raise ValueError(
                f"P + n_test + n_val must be <= {self.n_inputs}, the number of distinct inputs "
                f"of this grammar, got P={P}, n_test={n_test}, n_val={n_val}; lower P or n_test"
            )
        test = self.sample_distinct(n_test, seed=_derive(seed, 1), name="n_test")
        val = self.sample_distinct(n_val, seed=_derive(seed, 3), exclude=test, name="n_val")
        train = self.sample_distinct(P, seed=_derive(seed, 2), exclude=Sample.cat([test, val]),
                                     name="P")
        return train, test, val

    def resample(self, sample: Sample, level: int, seed: int = 0) -> Sample:
        """Keep the hidden variables of levels ``0..level`` and redraw every rule below.

        ``level = L - 1`` swaps only the bottom tuples for synonyms; ``level = 0`` keeps
        only the class.
        """
        level = check_int("level", level, 0, self.L - 1)
        gen = _generator(check_int("seed", seed, 0, 2**63 - 1))
        self._check_sample("sample", sample)
        return Sample(self._expand(sample.hidden, level, gen))

    def _check_sample(self, name: str, sample: object) -> None:
        """Raise unless ``sample`` is a :class:`Sample` this grammar generated, tree included."""
        if not isinstance(sample, Sample):
            raise TypeError(f"{name} must be a Sample, got {type(sample).__name__}")
        if len(sample.hidden) != self.L + 1:
            raise ValueError(f"{name} must have L + 1 = {self.L + 1} levels (a grammar of "
                             f"depth {self.L}), got {len(sample.hidden)}")
        for level, tree in zip(self.parse(sample.x), sample.hidden):
            if tree.shape != level.shape or not torch.equal(tree, level):
                raise ValueError(f"{name} is not a sample of this grammar: its hidden variables "
                                 f"are not the parse of its inputs ({self!r})")

    def parse(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Recover the tree of hidden variables of inputs ``x``; raises if not generated."""
        x = self._check_tokens(x)
        hidden = [x]
        for level in range(self.L - 1, -1, -1):
            codes = self._encode(hidden[0].reshape(x.shape[0], self.s**level, self.s))
            table, parents = self._parse_tables[level]
            pos = torch.searchsorted(table, codes).clamp(max=len(table) - 1)
            if not bool((table[pos] == codes).all()):
                raise ValueError(f"x contains tuples that no level-{level} rule produces")
            hidden.insert(0, parents[pos])
        return hidden

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The model's input of tokens ``x``: their one-hot encoding (a :class:`Dataset`)."""
        return self.one_hot(x)

    def one_hot(self, x: torch.Tensor) -> torch.Tensor:
        """One-hot encoding of tokens ``[n, s**L]`` as float ``[n, s**L, v]`` (channels last)."""
        x = self._check_tokens(x)
        _check_memory(f"x of {len(x)} inputs", "its one-hot encoding", x.numel() * self.v * 4)
        return torch.nn.functional.one_hot(x, self.v).float()

    def _check_tokens(self, x: object) -> torch.Tensor:
        """``x`` as an int64 tensor ``[n, s**L]`` of tokens in ``[0, v)``, or a clear error."""
        if not isinstance(x, torch.Tensor):
            try:
                x = torch.as_tensor(x)
            except (TypeError, ValueError, RuntimeError) as error:
                raise TypeError(f"x must be a tensor of integer tokens, got "
                                f"{type(x).__name__}") from error
        if x.dtype.is_floating_point or x.dtype.is_complex or x.dtype == torch.bool:
            raise TypeError(f"x must hold integer tokens, got dtype {x.dtype}")
        if x.ndim != 2 or x.shape[1] != self.input_length:
            raise ValueError(f"x must have shape [n, {self.input_length}], got {tuple(x.shape)}")
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.v):
            raise ValueError(f"x must hold tokens in [0, {self.v - 1}] (v={self.v}), got values "
                             f"in [{int(x.min())}, {int(x.max())}]")
        return x.long()


def _derive(seed: int, stream: int) -> int:
    """An independent seed for a named sub-stream of ``seed`` (a hash: any seed works)."""
    seed = check_int("seed", seed, 0, 2**63 - 1)
    return derive(seed, "data") ^ stream


# Fixed odd multipliers of a 64-bit hash of token rows. Equal rows always get equal
# keys; a (rare) collision only makes a fresh input be redrawn, never admits a repeat.
_HASH_MULTIPLIERS = torch.randint(
    -(2**62), 2**62, (_MAX_INPUT_LENGTH,), generator=_generator(20240601)
) | 1


def _row_keys(x: torch.Tensor) -> torch.Tensor:
    # int64 products and sums wrap around, as a hash should.
    return (x * _HASH_MULTIPLIERS[: x.shape[1]]).sum(1)


def _repeats(keys: torch.Tensor) -> torch.Tensor:
    """Boolean mask of the entries whose key already occurred earlier."""
    sorted_keys, order = torch.sort(keys, stable=True)
    repeat_sorted = torch.zeros(len(keys), dtype=torch.bool)
    repeat_sorted[1:] = sorted_keys[1:] == sorted_keys[:-1]
    repeat = torch.empty_like(repeat_sorted)
    repeat[order] = repeat_sorted
    return repeat
