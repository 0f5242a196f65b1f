"""``python -m bench``: run the benchmarks and write results.json, results.md and latency.png.

``make bench`` runs the full benchmark into ``bench/``; ``make bench-smoke`` (``--smoke``) runs
every scenario for a few seconds into ``var/bench/smoke/`` so that it cannot rot.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

from bench import SCENARIOS
from scripts.stack import ROOT, THREAD_ENV

if TYPE_CHECKING:
    from bench.runner import BenchConfig

FULL_OUT = ROOT / "bench"
SMOKE_OUT = ROOT / "var" / "bench" / "smoke"


def _users(text: str) -> List[int]:
    values = [int(x) for x in text.split(",") if x.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("users must be positive whole numbers, e.g. 1,8,32")
    return values


def _scenarios(text: str) -> List[str]:
    values = [x.strip() for x in text.split(",") if x.strip()]
    unknown = sorted(set(values) - set(SCENARIOS))
    if not values or unknown:
        raise argparse.ArgumentTypeError(f"scenarios are {', '.join(SCENARIOS)}")
    return values


def parse(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line options (smoke presets apply where an option is not given)."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--smoke", action="store_true", help="seconds per scenario (CI)")
    p.add_argument("--out", type=Path, help="output folder [bench/, smoke: var/bench/smoke/]")
    p.add_argument("--repeat", type=int, help="repetitions of each load level [3, smoke 1]")
    p.add_argument("--duration", type=float, help="measured seconds per load run [30, smoke 3]")
    p.add_argument("--warmup", type=float, help="unrecorded seconds before a load run [2, smoke 1]")
    p.add_argument("--users", type=_users, default=[1, 8, 32], help="load levels [1,8,32]")
    p.add_argument("--soak", type=float, help="soak seconds [600, smoke 5]")
    p.add_argument("--soak-users", type=int, default=8, help="soak users [8]")
    p.add_argument("--soak-rate", type=float, help="soak messages/s [half our top throughput]")
    p.add_argument("--cold-starts", type=int, help="cold starts per bot [3, smoke 1]")
    p.add_argument("--builds", type=int, help="index builds and trainings timed [3, smoke 1]")
    p.add_argument("--stock-trainings", type=int, help="stock training times wanted [3, smoke 1]")
    p.add_argument("--long-turns", type=int, help="turns of the long conversation [300, smoke 30]")
    p.add_argument("--long-repeat", type=int, help="long conversations per bot [3, smoke 1]")
    p.add_argument(
        "--only",
        type=_scenarios,
        help=f"run only these scenarios (comma-separated: {','.join(SCENARIOS)}); "
        "the cold starts always run",
    )
    p.add_argument("--no-stock", action="store_true", help="skip the stock bot")
    return p.parse_args(argv)


def config_from(args: argparse.Namespace, log_dir: Path) -> "BenchConfig":
    """The run's configuration: full defaults, or smoke presets, overridden by options."""
    from bench.runner import BenchConfig

    def pick(value: Optional[float], full: float, smoke: float) -> float:
        if value is not None:
            return value
        return smoke if args.smoke else full

    builds = int(pick(args.builds, 3, 1))
    return BenchConfig(
        log_dir=log_dir,
        repeat=int(pick(args.repeat, 3, 1)),
        load_duration=pick(args.duration, 30.0, 3.0),
        warmup=pick(args.warmup, 2.0, 1.0),
        users=tuple(args.users),
        soak_s=pick(args.soak, 600.0, 5.0),
        soak_users=args.soak_users,
        soak_rate=args.soak_rate,
        cold_starts=int(pick(args.cold_starts, 3, 1)),
        index_builds=builds,
        trainings=builds,
        stock_trainings=int(pick(args.stock_trainings, 3, 1)),
        retrieval_passes=int(pick(None, 3, 1)),
        long_turns=int(pick(args.long_turns, 300, 30)),
        long_repeat=int(pick(args.long_repeat, 3, 1)),
        stock=not args.no_stock,
        mode="smoke" if args.smoke else "full",
        scenarios=tuple(args.only or SCENARIOS),
    )


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark; exit 0 when it ran (targets are reported, not enforced)."""
    args = parse(argv)
    out = args.out or (SMOKE_OUT if args.smoke else FULL_OUT)
    log_dir = (SMOKE_OUT if args.smoke else ROOT / "var" / "bench") / "logs"
    # This process times retrieval alone: same thread counts as the action server, set before
    # numpy and torch are imported.
    for key, value in THREAD_ENV.items():
        os.environ.setdefault(key, value)
    from bench.report import targets, write
    from bench.runner import Runner

    runner = Runner(config_from(args, log_dir))
    results = runner.run()
    paths = write(results, runner.cdfs, out)
    for target in targets(results):
        state = {True: "met", False: "MISSED", None: "not measured"}[target.met]
        print(f"bench: {target.name}: {target.value} ({state}, {target.margin})", flush=True)
    print(f"bench: wrote {', '.join(str(p) for p in paths)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
