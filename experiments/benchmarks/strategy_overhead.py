"""Extra cost per step of the statistics-only strategies: their ``observe_rewards`` + ``advantages`` calls.

    python -m experiments.benchmarks.strategy_overhead [--rows 64 512] [--rewards 2 3] [--repeats 200]

These strategies add no forward or backward pass: per rollout batch the trainer calls the two methods on the
gathered ``[B*G, K]`` rewards, which is all they cost (timed here, median of ``--repeats`` calls, one thread).
POPO's cost (K per-reward VJPs and the Gram matrix) is measured by ``trainer_bench``. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from rlrec.weighting import WEIGHTING_STRATEGIES

GRADIENT_BASED = {"popo"}


def time_strategy(name: str, rows: int, rewards: int, repeats: int) -> float:
    """Median seconds of one ``observe_rewards`` + ``advantages`` call on random ``[rows, rewards]`` rewards (G = 8)."""
    strategy = WEIGHTING_STRATEGIES.get(name)([f"r{k}" for k in range(rewards)])
    batch = torch.rand(rows, rewards, generator=torch.Generator().manual_seed(0))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        strategy.observe_rewards(batch, 8)
        strategy.advantages(batch, 8)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[64, 512], help="B*G (multiples of G = 8)")
    parser.add_argument("--rewards", type=int, nargs="+", default=[2, 3], help="K")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    shapes = [(n, k) for n in args.rows for k in args.rewards]
    print("| strategy | " + " | ".join(f"B*G={n}, K={k} (ms)" for n, k in shapes) + " |")
    print("|---|" + "---|" * len(shapes))
    for name in WEIGHTING_STRATEGIES.names():
        if name in GRADIENT_BASED:
            continue
        cells = [f"{1e3 * time_strategy(name, n, k, args.repeats):.3f}" for n, k in shapes]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
