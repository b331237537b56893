"""Decode cost per protocol message type: the worst input each codec admits.

    .venv/bin/python bench/encoding/messages.py [--repeat 3]

Each protocol's ``decode_message`` first decodes the bytes under its own
limits (the largest message type's byte limit, its nesting depth, its items
per container) and only then checks the type's own limit and the fields.
So the most a peer can make a node spend on one message of any type is the
generic decode of an input of that size, in the shape that costs most per
byte (nested one-key maps, the worst row of ``bench/encoding/run.py``),
kept within the codec's depth and item limits.  For each protocol and
message type this prints the type's byte limit, then for (a) that worst
hostile input, padded to the largest type's limit, and (b) for SDBC, the
largest honest message of the type an honest cluster sent, the size, the time
``decode_message`` takes (best of ``--repeat``; a refusal is timed too) and
the tracemalloc peak beside the input size.

Deployment sizes: SDBC five hubs and 16 coordinates; SHAP the default
configuration (2,000 agents per monitor, fan-in 10); SSCR 2,000 agents and
three sources.  A benchmark, not a test: it never fails on a time.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import platform
import time
import tracemalloc
from collections.abc import Callable
from fractions import Fraction

from vigilnet.crypto import SigningKey
from vigilnet.encoding import CborValue, encode
from vigilnet.errors import RemoteProtocolError
from vigilnet.protocols import sdbc, shap, sscr
from vigilnet.protocols.shap import _wire as shap_wire
from vigilnet.protocols.sscr import _wire as sscr_wire


def hostile(kind: str, size: int, depth: int, items: int) -> bytes:
    """``{"body": [[{"": {"": ...}}, ...], ...], "type": kind}`` of at most
    ``size`` bytes: arrays of at most ``items`` chains of one-key maps, the
    whole nested exactly ``depth`` deep (envelope, body list, inner list,
    then the chain)."""
    chain: CborValue = {}
    for _ in range(depth - 4):
        chain = {"": chain}
    room = size - 32 - len(kind)
    per_inner = min(items, max(1, room // (len(encode(chain)) * items + 9)))
    inner: CborValue = (chain,) * per_inner
    outer = min(items, max(1, room // len(encode(inner, max_items=items))))
    value: CborValue = {"body": (inner,) * outer, "type": kind}
    data = encode(value, max_size=size, max_items=items, max_total_items=1 << 30)
    assert len(data) <= size, (len(data), size)
    return data


def _measure(decode: Callable[[bytes], object], data: bytes, repeat: int) -> tuple[float, int, str]:
    outcome = "accepted"
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            decode(data)
        except RemoteProtocolError as error:
            outcome = f"refused: {type(error).__name__}"
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        with contextlib.suppress(RemoteProtocolError):
            decode(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return best, peak, outcome


def _sdbc_rows() -> list[tuple[str, str, int, int, int, list[bytes]]]:
    width = 16
    config, keys = sdbc.make_config(
        [hashlib.sha256(b"bench wire hub %d" % h).digest() for h in range(5)],
        summary_ranges=((-(1 << 62), 1 << 62),) * width,
    )
    cluster = sdbc.Cluster(config=config, keys=keys, correct=tuple(range(5)))
    cluster.run_epoch(1, {h: tuple((1 << 61) + h * k for k in range(width)) for h in range(5)})
    limits = sdbc.wire_limits(config)
    honest: dict[str, bytes] = {}
    for message in cluster.sent:
        data = sdbc.encode_message(message)
        kind = (
            "summary"
            if isinstance(message, sdbc.EpochSummary)
            else ("proposal" if isinstance(message, sdbc.Proposal) else message.kind)
        )
        if len(data) > len(honest.get(kind, b"")):
            honest[kind] = data
    items = max(len(config.members), width, 8)
    return [("sdbc", kind, limit, 6, items, [honest[kind]]) for kind, limit in limits.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}")

    sdbc_config = sdbc.make_config(
        [hashlib.sha256(b"bench wire hub %d" % h).digest() for h in range(5)],
        summary_ranges=((-(1 << 62), 1 << 62),) * 16,
    )[0]
    shap_config = shap.ShapConfig()
    shap_limits = shap_wire.wire_limits(shap_config)
    source_keys = {n: SigningKey(hashlib.sha256(n.encode()).digest()) for n in ("ma", "mb", "mc")}
    sscr_config = sscr.SscrConfig(
        node="a",
        peers=("b", "c"),
        sources=(("ma", "a"), ("mb", "b"), ("mc", "c")),
        source_keys=tuple((n, bytes(k.verify_key)) for n, k in source_keys.items()),
        lambda_max=1 << 32,
        rate=Fraction(1),
        upper=2 << 32,
        lower=-(2 << 32),
        deadline_base=10,
        phi_threshold=4 << 32,
        max_agents=2000,
    )
    sscr_limits = sscr_wire.WireLimits.of(sscr_config)

    protocols: list[tuple[str, Callable[[bytes], object], dict[str, int], int, int]] = [
        (
            "sdbc",
            lambda d: sdbc.decode_message(d, sdbc_config),
            sdbc.wire_limits(sdbc_config),
            6,
            16,
        ),
        (
            "shap",
            lambda d: shap_wire.decode_message(d, shap_config),
            dict(shap_limits.max_size),
            8,
            shap_limits.max_items,
        ),
        (
            "sscr",
            lambda d: sscr_wire.decode_message(d, sscr_limits),
            {k: sscr_limits.max_bytes(k) for k in sscr_wire.MESSAGE_TYPES},
            sscr_wire.MAX_DEPTH,
            sscr_limits.max_items(),
        ),
    ]
    honest = {("sdbc", row[1]): row[5][0] for row in _sdbc_rows()}

    header = (
        f"{'protocol':<8} {'type':<14} {'limit B':>9} {'input':<8} {'bytes':>9} "
        f"{'decode ms':>10} {'peak KiB':>9} {'peak/size':>9}  outcome"
    )
    print(header)
    print("-" * len(header))
    for name, decode, limits, depth, items in protocols:
        largest = max(limits.values())
        for kind, limit in limits.items():
            inputs = [("hostile", hostile(kind, largest, depth, items))]
            if (name, kind) in honest:
                inputs.append(("honest", honest[(name, kind)]))
            for label, data in inputs:
                seconds, peak, outcome = _measure(decode, data, args.repeat)
                print(
                    f"{name:<8} {kind:<14} {limit:>9,} {label:<8} {len(data):>9,} "
                    f"{seconds * 1e3:>10.2f} {peak / 1024:>9.1f} {peak / len(data):>9.1f}  {outcome}"
                )


if __name__ == "__main__":
    main()
