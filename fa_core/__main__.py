"""``python -m fa_core FILE --r R``: will FA work on my matrix or data set, in a terminal.

The forecast itself is :func:`fa_core.forecast` (module :mod:`fa_core.forecasting`).
The command line lives in the package's ``__main__`` so that no submodule is named
``forecast``: importing one would replace the function ``fa_core.forecast`` by it.
"""

from __future__ import annotations

import argparse
import sys

from .forecasting import forecast, load_problem


def main(argv=None) -> int:
    """``python -m fa_core FILE --r R``: the summary and a small table; 2 on a bad file."""
    ap = argparse.ArgumentParser(
        prog="python -m fa_core",
        description="Will feedback alignment work on my matrix or data set? "
        "FA's limit over draws of the feedback B, against GD's optimum.",
    )
    ap.add_argument("path", help=".npy or .csv (a matrix Y), or .npz with arrays X and T")
    ap.add_argument("--r", type=int, required=True, help="hidden units")
    ap.add_argument("--draws", type=int, default=10_000, help="draws of B (default 10000)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    ap.add_argument("--epsilon", type=float, default=0.1, help="oversampling target 1 + ε")
    args = ap.parse_args(argv)
    try:
        result = forecast(
            load_problem(args.path), args.r, draws=args.draws, rng=args.seed, epsilon=args.epsilon
        )
    except (TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    print()
    print(result.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
