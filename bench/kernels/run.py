"""The C kernels against their best numpy equivalents and the pure-Python
reference, side by side; then a dudect-style timing test of each kernel.

    python bench/kernels/run.py [--sizes 1000000 10000000] [--reference-items 200000]
                                [--measurements 200000]

Part 1, throughput: for each size, each kernel on the AVX2 and the scalar
path, beside the numpy spellings of the same result (``np.add.at``,
``np.bincount``, ``np.median`` / ``np.partition`` / ``np.sort`` along the
replica axis, boolean arithmetic, ``hmac.compare_digest``, ``np.where``) and
the reference.  Items per second, best of three, and the ratio to the
fastest numpy spelling.  The reference is pure Python; it is timed on
``--reference-items`` items (its rate does not depend on the size).

Part 2, constant time: ``csrc/ct/dudect.c`` times each kernel on fixed vs
random secrets and prints Welch's |t| (dudect's threshold for "likely
leaks" is 4.5), beside the deliberately leaky variants of ``csrc/ct/leaky.c``.

Figures only, never a pass/fail: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import vigilnet.kernels as kernels
from vigilnet.fixedpoint import DEFAULT_LAMBDA_MAX
from vigilnet.kernels import _bindings

REPO = Path(__file__).resolve().parents[2]
NATIVE = [b for b in ("avx2", "scalar") if b in kernels.available_backends()]


def best_of(call: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, int, str, float, str]] = []

    def group(
        self,
        kernel: str,
        n: int,
        kernel_call: Callable[[], object],
        numpy_calls: dict[str, Callable[[], object]],
        reference_call: tuple[int, Callable[[], object]] | None,
    ) -> None:
        numpy_rates = {name: n / best_of(call) for name, call in numpy_calls.items()}
        best_numpy = max(numpy_rates.values())
        for backend in NATIVE:
            kernels.select_backend(backend)
            rate = n / best_of(kernel_call)
            self.rows.append((kernel, n, f"kernel {backend}", rate, f"{rate / best_numpy:.2f}x"))
        for name, rate in numpy_rates.items():
            mark = " (best numpy)" if rate == best_numpy else ""
            self.rows.append((kernel, n, f"numpy {name}{mark}", rate, f"{rate / best_numpy:.2f}x"))
        if reference_call is not None:
            items, call = reference_call
            kernels.select_backend("reference")
            rate = items / best_of(call, repeat=1)
            self.rows.append(
                (kernel, n, f"reference ({items:,} items)", rate, f"{rate / best_numpy:.4f}x")
            )
        if NATIVE:
            kernels.select_backend(NATIVE[0])
        self.show_last(kernel, n)

    def show_last(self, kernel: str, n: int) -> None:
        for row in self.rows:
            if row[0] == kernel and row[1] == n:
                print(f"  {row[0]:<22} {row[1]:>11,} {row[2]:<40} {row[3]:>16,.0f}/s {row[4]:>10}")
        print(flush=True)


def llr_group(table: Table, rng: np.random.Generator, n: int, small: int, order: str) -> None:
    """n points into 1M agents, some clamped; agents in random order (the
    worst case for the cache) or sorted (as one monitor's report lists them)."""
    n_agents = 1_000_000
    agents = rng.integers(0, n_agents, size=n, dtype=np.int64)
    if order == "sorted":
        agents.sort()
    evidence = rng.integers(-(1 << 20), 1 << 20, size=n, dtype=np.int32)
    lm = DEFAULT_LAMBDA_MAX

    def add_at() -> object:
        sums = np.zeros(n_agents, dtype=np.int64)
        np.add.at(sums, agents, np.clip(evidence, -lm, lm).astype(np.int64))
        return np.bincount(agents, minlength=n_agents), sums

    def bincount() -> object:  # float64 weights: exact only below 2**53
        clipped = np.clip(evidence, -lm, lm)
        weighted = np.bincount(agents, weights=clipped, minlength=n_agents)
        return np.bincount(agents, minlength=n_agents), weighted

    table.group(
        f"llr_accumulate {order}",
        n,
        lambda: kernels.llr_accumulate(agents, evidence, n_agents, lambda_max=lm),
        {"np.add.at + np.bincount": add_at, "np.bincount(weights) float64": bincount},
        (
            small,
            lambda: kernels.llr_accumulate(
                agents[:small], evidence[:small], n_agents, lambda_max=lm
            ),
        ),
    )


def median_group(table: Table, rng: np.random.Generator, n: int, small: int, r: int) -> None:
    values = rng.integers(-(1 << 40), 1 << 40, size=(r, n), dtype=np.int64)
    head = np.ascontiguousarray(values[:, :small])
    mid = (r - 1) // 2
    table.group(
        f"lower_median r={r}",
        n,
        lambda: kernels.lower_median(values),
        {
            "np.median(axis=0)": lambda: np.median(values, axis=0),
            "np.partition(axis=0)": lambda: np.partition(values, mid, axis=0)[mid],
            "np.sort(axis=0)": lambda: np.sort(values, axis=0)[mid],
        },
        (small, lambda: kernels.lower_median(head)),
    )


def trimmed_group(
    table: Table, rng: np.random.Generator, n: int, small: int, m: int, f: int
) -> None:
    values = rng.integers(-(1 << 40), 1 << 40, size=(m, n), dtype=np.int64)
    head = np.ascontiguousarray(values[:, :small])
    table.group(
        f"trimmed_sum m={m} f={f}",
        n,
        lambda: kernels.trimmed_sum(values, f),
        {
            "np.sort(axis=0) + sum": lambda: np.sort(values, axis=0)[f : m - f].sum(axis=0),
            "np.partition(axis=0) + sum": lambda: np.partition(values, [f, m - f - 1], axis=0)[
                f : m - f
            ].sum(axis=0),
        },
        (small, lambda: kernels.trimmed_sum(head, f)),
    )


def sprt_group(table: Table, rng: np.random.Generator, n: int, small: int) -> None:
    log_odds = rng.integers(-(1 << 22), 1 << 22, size=n, dtype=np.int64)
    lower, upper = -300_000, 200_000

    def boolean_arithmetic() -> object:
        flagged = log_odds >= upper
        return flagged.astype(np.int8) - ((log_odds <= lower) & ~flagged).astype(np.int8)

    def select() -> object:
        return np.select([log_odds >= upper, log_odds <= lower], [1, -1], 0).astype(np.int8)

    table.group(
        "sprt_classify",
        n,
        lambda: kernels.sprt_classify(log_odds, lower=lower, upper=upper),
        {"boolean arithmetic": boolean_arithmetic, "np.select": select},
        (small, lambda: kernels.sprt_classify(log_odds[:small], lower=lower, upper=upper)),
    )


def bytes_groups(table: Table, rng: np.random.Generator, n: int) -> None:
    a = rng.bytes(n)
    b = bytes(bytearray(a))  # equal, another buffer: every byte is compared
    other = rng.bytes(n)
    a_view, b_view = np.frombuffer(a, np.uint8), np.frombuffer(b, np.uint8)
    other_view = np.frombuffer(other, np.uint8)
    table.group(
        "ct_equal",
        n,
        lambda: kernels.ct_equal(a, b),
        {
            "hmac.compare_digest": lambda: hmac.compare_digest(a, b),
            "np.array_equal": lambda: np.array_equal(a_view, b_view),
        },
        (n, lambda: kernels.ct_equal(a, b)),  # the reference is bytes ==, not constant time
    )
    table.group(
        "ct_select",
        n,
        lambda: kernels.ct_select(1, a, other),
        {"np.where(choice, a, b)": lambda: np.where(True, a_view, other_view).tobytes()},
        None,
    )


def merkle_leaves(n: int) -> None:
    """Merkle leaf hashing: hashlib one call per leaf, hashlib in a list
    comprehension, and :func:`vigilnet.kernels.sha256_rows` (libcrypto, one
    call for all rows); then a whole SHAP entries tree (``FastSumTree``) of
    ``n`` leaves with the kernel and with hashlib."""
    from vigilnet.protocols.shap import FastSumTree

    leaves = [i.to_bytes(32, "big") for i in range(n)]
    prefix = b"\x00"
    start = time.perf_counter()
    for leaf in leaves:
        hashlib.sha256(prefix + leaf).digest()
    one_by_one = n / (time.perf_counter() - start)
    start = time.perf_counter()
    sha = hashlib.sha256
    digests = [sha(prefix + leaf).digest() for leaf in leaves]
    batched = n / (time.perf_counter() - start)
    assert len(digests) == n
    rows = np.frombuffer(b"".join(prefix + leaf for leaf in leaves), np.uint8).reshape(n, 33)
    kernel = n / best_of(lambda: kernels.sha256_rows(rows), 1)
    assert kernels.sha256_rows(rows[:1])[0].tobytes() == digests[0]
    print(f"  merkle leaves (hashlib)  {n:>11,} one call per leaf {one_by_one:>30,.0f}/s")
    print(f"  merkle leaves (hashlib)  {n:>11,} list comprehension {batched:>29,.0f}/s")
    print(
        f"  merkle leaves (kernel)   {n:>11,} sha256_rows ({kernels.sha256_backend()}) "
        f"{kernel:>22,.0f}/s {kernel / batched:>9.2f}x"
    )
    payloads = np.arange(n, dtype=">u8").view(np.uint8).reshape(n, 8)
    sums = np.ones((n, 3), dtype=np.int64)
    with_kernel = best_of(lambda: FastSumTree(payloads, sums), 1)
    previous = kernels.select_backend("reference")
    try:
        with_hashlib = best_of(lambda: FastSumTree(payloads, sums), 1)
    finally:
        kernels.select_backend(previous)
    print(
        f"  FastSumTree build        {n:>11,} kernel {with_kernel:.2f} s, hashlib "
        f"{with_hashlib:.2f} s {with_hashlib / with_kernel:>27.2f}x"
    )
    print()


def throughput(sizes: list[int], reference_items: int) -> None:
    rng = np.random.default_rng(2026)
    table = Table()
    print(f"  {'kernel':<22} {'n':>11} {'method':<40} {'items per second':>18} {'vs numpy':>10}")
    for n in sizes:
        small = min(n, reference_items)
        for order in ("random", "sorted"):
            llr_group(table, rng, n, small, order)
        for r in (3, 5):
            median_group(table, rng, n, small, r)
        for m, f in ((5, 1), (16, 5)):
            if m * n <= 40_000_000:  # 16 x 10M int64 is 1.3 GB a copy: not here
                trimmed_group(table, rng, n, small, m, f)
        sprt_group(table, rng, n, small)
        bytes_groups(table, rng, n)
        merkle_leaves(n)


def dudect(measurements: int) -> None:
    compiler = os.environ.get("CC", "cc")
    if _bindings.native is None or shutil.which(compiler) is None:
        print("dudect: skipped (no extension or no C compiler)")
        return
    with tempfile.TemporaryDirectory() as scratch:
        binary = Path(scratch) / "dudect"
        subprocess.run(
            [
                compiler,
                "-O2",
                "-rdynamic",
                f"-I{REPO / 'csrc'}",
                str(REPO / "csrc" / "ct" / "dudect.c"),
                str(REPO / "csrc" / "ct" / "leaky.c"),
                "-ldl",
                "-lm",
                "-o",
                str(binary),
            ],
            check=True,
        )
        print(f"dudect: Welch |t|, fixed vs random secrets, {measurements:,} measurements each")
        print(
            f"  {'kernel':<28} {'path':<7} {'max |t|':>9} {'t(p50)':>9} {'t(p90)':>9} {'t(p99)':>9}"
        )
        for backend in NATIVE:
            path = {"scalar": "1", "avx2": "2"}[backend]
            run = subprocess.run(
                [binary, str(_bindings.native.__file__), path, str(measurements)],
                check=True,
                capture_output=True,
                text=True,
            )
            for line in run.stdout.splitlines():
                name, worst, t50, t90, t99, _ = line.split()
                verdict = "LEAKS" if float(worst) > 4.5 else "ok"
                print(
                    f"  {name:<28} {backend:<7} {float(worst):>9.2f} {float(t50):>9.2f}"
                    f" {float(t90):>9.2f} {float(t99):>9.2f}  {verdict}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--reference-items", type=int, default=200_000)
    parser.add_argument("--measurements", type=int, default=200_000)
    args = parser.parse_args()
    print(f"vigilnet.kernels backends here: {', '.join(kernels.available_backends())}\n")
    throughput(args.sizes, args.reference_items)
    dudect(args.measurements)


if __name__ == "__main__":
    main()
