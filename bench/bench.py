"""Engine benchmark: every competitor on the same FA problems, timed side by side in one run.

    make bench                      # or: .venv/bin/python bench/bench.py --out build/bench
    make bench BENCH_ARGS=--quick   # a smoke run in seconds

Competitors (each runs feedback alignment on Y ≈ ZW, with the same η, r, k and seeds):

  reduced  fa_core.train(engine="reduced"), batched over seeds: O(k r² + r³) per step
  dense    fa_core.train(engine="dense"), batched over seeds: O(n m r) per step
  loop     a plain per-seed NumPy loop, as peer projects write it: E = Y − ZW; Z += ηEBᵀ; W += ηZᵀE
  torch    PyTorch on CPU, one model per seed: biotorch's FA Linear layers if biotorch imports,
           otherwise a custom autograd FA layer; a two-layer linear net on whitened inputs X = I

Before timing, each competitor's trajectory is checked against fa_core's dense FA step (relative
difference printed), so the table compares implementations of the same algorithm.

Timing: per-step wall time = (time for N steps − time for 0 steps) / N on one BLAS thread, with
N grown until the steps take the budget beyond the setup; setup time (drawing and compressing the
starting point) is reported separately. Competitors that loop over seeds are timed on a few seeds and scaled linearly
to S where a full run would take minutes (marked "extrapolated" in the JSON). Ratios are against
the reduced engine on the same problem, measured in this same process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import fa_core as fa  # noqa: E402

ETA = 0.05
K, R = 50, 5


# -- competitors -------------------------------------------------------------


def run_fa_core(target, seeds, steps, engine):
    steps = max(steps, 1)  # fa_core.train takes steps >= 1: the setup call also makes one step
    return fa.train(
        target,
        R,
        "fa",
        steps=steps,
        eta=ETA,
        seeds=seeds,
        init_scale=0.1,
        record_at=[0, steps],
        engine=engine,
    )


def start(target, seed):
    """The same Z₀, W₀, B that fa_core.train draws for this seed."""
    st = fa.starting_point(target.n, target.m, R, [seed], init_scale=0.1)
    return st.Z0[0], st.W0[0], st.B[0]


def loop_numpy(target, seeds, steps):
    """The peer-project way: one seed at a time, explicit residual every step."""
    Y = target.Y
    out = []
    for seed in seeds:
        Z, W, B = start(target, seed)
        for _ in range(steps):
            E = Y - Z @ W
            Z, W = Z + ETA * E @ B.T, W + ETA * Z.T @ E
        out.append((Z, W))
    return out


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return None
    try:
        from biotorch.layers import fa as bfa  # noqa: F401

        return "biotorch"
    except Exception:  # biotorch is optional and old; any import failure means fall back
        return "custom-autograd"


def torch_models(target, seeds, flavour):
    """One two-layer linear FA network per seed, initialised to fa_core's Z₀, W₀, B."""
    import torch

    torch.set_num_threads(1)
    models = []
    for seed in seeds:
        Z, W, B = (torch.tensor(a) for a in start(target, seed))
        if flavour == "biotorch":
            from biotorch.layers import fa as bfa

            l1, l2 = bfa.Linear(target.n, R, bias=False), bfa.Linear(R, target.m, bias=False)
            l1, l2 = l1.double(), l2.double()
            with torch.no_grad():
                l1.weight.copy_(Z.T)
                l2.weight.copy_(W.T)
                l2.weight_backward.copy_(B.T)  # grad_h = grad_out @ weight_backward = −E Bᵀ
            params = [l1.weight, l2.weight]
            forward = lambda x, l1=l1, l2=l2: l2(l1(x))  # noqa: E731
        else:
            Zp, Wp = torch.nn.Parameter(Z.clone()), torch.nn.Parameter(W.clone())
            params = [Zp, Wp]
            forward = lambda x, Zp=Zp, Wp=Wp, B=B: FALinear.apply(x @ Zp, Wp, B)  # noqa: E731
        models.append((forward, torch.optim.SGD(params, lr=ETA), params))
    return models


def _make_fa_linear():
    import torch

    class FALinearFn(torch.autograd.Function):
        """y = h W; backward sends the error through the fixed feedback B instead of W."""

        @staticmethod
        def forward(ctx, h, W, B):
            ctx.save_for_backward(h, B)
            return h @ W

        @staticmethod
        def backward(ctx, grad_out):
            h, B = ctx.saved_tensors
            return grad_out @ B.T, h.T @ grad_out, None

    return FALinearFn


class FALinear:
    apply = None


def loop_torch(target, seeds, steps, flavour):
    import torch

    if FALinear.apply is None:
        FALinear.apply = _make_fa_linear().apply
    X = torch.eye(target.n, dtype=torch.float64)  # whitened inputs: XᵀX = I
    Y = torch.tensor(target.Y)
    models = torch_models(target, seeds, flavour)
    for forward, opt, _ in models:
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = 0.5 * ((forward(X) - Y) ** 2).sum()
            loss.backward()
            opt.step()
    return models


def torch_factors(models, flavour):
    out = []
    for _, _, params in models:
        a, b = (p.detach().numpy() for p in params)
        out.append((a.T, b.T) if flavour == "biotorch" else (a, b))
    return out


# -- correctness -------------------------------------------------------------


def agreement(flavour):
    """Max relative difference of each competitor's (Z, W) after 20 steps vs fa_core dense."""
    target = fa.make_target(fa.low_rank_spectrum(K), 120, 100, rng=0)
    ref = run_fa_core(target, [0, 1], 20, "dense")
    rel = lambda a, b: float(np.max(np.abs(a - b)) / np.max(np.abs(b)))  # noqa: E731
    out = {"reduced": max(rel(run_fa_core(target, [0, 1], 20, "reduced").Z, ref.Z), 0.0)}
    loop = loop_numpy(target, [0, 1], 20)
    out["loop"] = max(max(rel(Z, ref.Z[i]), rel(W, ref.W[i])) for i, (Z, W) in enumerate(loop))
    if flavour:
        got = torch_factors(loop_torch(target, [0, 1], 20, flavour), flavour)
        out["torch"] = max(max(rel(Z, ref.Z[i]), rel(W, ref.W[i])) for i, (Z, W) in enumerate(got))
    return out


# -- timing ------------------------------------------------------------------


def per_step(fn, budget, repeats=3, max_steps=1_000_000):
    """Seconds per step, with the setup time (a 0-step call) subtracted.

    The step count doubles until the steps take ``budget`` seconds beyond the
    setup, so a cheap step is never lost in the setup's noise. Returns the
    minimum over ``repeats`` and the setup time.
    """

    def timed(steps):
        t0 = time.perf_counter()
        fn(steps)
        return time.perf_counter() - t0

    setup = min(timed(0) for _ in range(repeats))
    budget = max(budget, 3 * setup)  # the steps must outweigh the setup's jitter
    steps = 1
    while steps < max_steps and timed(steps) - setup < budget:
        steps *= 4
    best = min(max(timed(steps) - setup, 1e-12) / steps for _ in range(repeats if steps > 1 else 1))
    return best, setup


def time_competitor(name, target, S, budget, flavour, max_seed_loop):
    """Seconds per step and setup seconds for S seeds, and whether they were extrapolated from fewer seeds."""
    seeds = list(range(S))
    if name in ("reduced", "dense"):
        fn = lambda st: run_fa_core(target, seeds, st, name)  # noqa: E731
        scale, measured = 1.0, S
    else:
        measured = min(S, max_seed_loop)
        sub = seeds[:measured]
        fn = (
            (lambda st: loop_numpy(target, sub, st))
            if name == "loop"
            else (lambda st: loop_torch(target, sub, st, flavour))
        )
        scale = S / measured
    sec, setup = per_step(fn, budget, repeats=3 if name == "reduced" else 1)
    return sec * scale, setup * scale, measured != S


USER_STEPS = 200


def user_path(n: int, S: int, dense_step: float, dense_setup: float) -> dict:
    """A user's own dense ndarray Y: fa.train(Y, ...) timed whole (factorization included), against the dense
    engine's time for the same run (its setup plus USER_STEPS steps at the per-step time measured above)."""
    Y = fa.make_target(
        fa.low_rank_spectrum(K), n, n, rng=0
    ).Y.copy()  # a plain array: no factors to reuse
    t0 = time.perf_counter()
    fa.Target.from_matrix(Y)
    factor = time.perf_counter() - t0
    t0 = time.perf_counter()
    fa.train(
        Y, R, "fa", steps=USER_STEPS, eta=ETA, seeds=S, init_scale=0.1, record_at=[0, USER_STEPS]
    )
    total = time.perf_counter() - t0
    dense_total = dense_setup + USER_STEPS * dense_step
    return dict(
        n=n,
        m=n,
        S=S,
        steps=USER_STEPS,
        factor_seconds=factor,
        reduced_total_seconds=total,
        dense_total_seconds=dense_total,
        speedup=dense_total / total,
    )


FORECAST_R = 5


def forecast_case(n: int, m: int, draws: int) -> dict:
    """fa.forecast on a dense n×m matrix of full rank (Gaussian columns scaled by j^-1), timed whole.

    Also times its first stage alone, the singular values (np.linalg.svd without
    vectors), so the rest is the O(draws · k r²) sampling.
    """
    g = np.random.default_rng(0)
    Y = g.standard_normal((n, m)) * np.arange(1, m + 1) ** -1.0
    t0 = time.perf_counter()
    np.linalg.svd(Y, compute_uv=False)
    svd = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    f = fa.forecast(Y, FORECAST_R, draws=draws, rng=0)
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    return dict(
        n=n,
        m=m,
        r=FORECAST_R,
        rank=f.rank,
        draws=draws,
        oversampling_p=f.oversampling["p"],
        total_seconds=total,
        total_cpu_seconds=cpu,  # the process's CPU time: what a shared machine's load does not inflate
        singular_values_seconds=svd,
        median_fa_over_opt=float(np.median(f.fa_over_opt)),
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("build/bench"))
    ap.add_argument("--quick", action="store_true", help="small sizes, seconds")
    ap.add_argument("--budget", type=float, default=0.5, help="seconds per measurement")
    args = ap.parse_args(argv)
    flavour = torch_available()
    sizes = [100, 300, 1000, 2000, 3000, 10000] if not args.quick else [100, 300]
    reduced_only = [30000, 100000] if not args.quick else [1000]
    seed_counts = [1, 4, 16, 64] if not args.quick else [1, 4]
    S0 = 16 if not args.quick else 4
    headline_n = 2000 if not args.quick else 300
    budget = args.budget if not args.quick else 0.05
    competitors = ["reduced", "dense", "loop"] + (["torch"] if flavour else [])

    print(
        f"fa_core bench: k = {K}, r = {R}, η = {ETA}; torch competitor: {flavour or 'not installed (skipped)'}"
    )
    agree = agreement(flavour)
    print(
        "agreement with fa_core's dense FA after 20 steps (max relative difference):",
        {k: f"{v:.1e}" for k, v in agree.items()},
    )

    rows = []

    def measure(problem, n, S, names):
        target = fa.make_target(fa.low_rank_spectrum(K), n, n, rng=0)
        for name in names:
            if name != "reduced" and n > 10000:
                continue
            sec, setup, extrapolated = time_competitor(
                name, target, S, budget, flavour, max_seed_loop=2 if n >= 3000 else S
            )
            rows.append(
                dict(
                    problem=problem,
                    n=n,
                    m=n,
                    S=S,
                    competitor=name,
                    seconds_per_step=sec,
                    setup_seconds=setup,
                    extrapolated=extrapolated,
                )
            )
            print(
                f"  {problem:<10} n=m={n:<7} S={S:<3} {name:<8} {sec * 1e3:12.4f} ms/step   setup {setup:8.3f} s"
                + ("  (extrapolated)" if extrapolated else ""),
                flush=True,
            )

    for n in sizes:
        measure("scaling_n", n, S0, competitors)
    for n in reduced_only:
        measure("scaling_n", n, S0, ["reduced"])
    for S in seed_counts:
        measure("scaling_S", headline_n, S, competitors)

    def t(problem, n, S, name):
        hit = [
            r["seconds_per_step"]
            for r in rows
            if (r["problem"], r["n"], r["S"], r["competitor"]) == (problem, n, S, name)
        ]
        return hit[0] if hit else float("nan")

    print(f"\nSpeed-up of the reduced engine (same problem, same run), S = {S0}:")
    print(f"{'n = m':>8} " + " ".join(f"{c:>12}" for c in competitors[1:]))
    for n in sizes:
        base = t("scaling_n", n, S0, "reduced")
        print(
            f"{n:>8} "
            + " ".join(f"{t('scaling_n', n, S0, c) / base:11.0f}×" for c in competitors[1:])
        )
    red = [t("scaling_n", n, S0, "reduced") for n in sizes + reduced_only if n >= 1000]
    flat = max(red) / min(red)
    print(f"reduced step time across n = 1e3 … {max(sizes + reduced_only):g}: max/min = {flat:.2f}")
    head = {
        c: t("scaling_n", headline_n, S0, c) / t("scaling_n", headline_n, S0, "reduced")
        for c in competitors[1:]
    }
    print(
        f"headline n = m = {headline_n}, S = {S0}: "
        + ", ".join(f"{c} {v:.0f}×" for c, v in head.items())
    )

    dense_row = [
        r
        for r in rows
        if (r["problem"], r["n"], r["S"], r["competitor"]) == ("scaling_n", headline_n, S0, "dense")
    ][0]
    user = user_path(headline_n, S0, dense_row["seconds_per_step"], dense_row["setup_seconds"])
    print(
        f"a user's dense ndarray Y, n = m = {headline_n}, S = {S0}, {USER_STEPS} steps, factorization included: "
        f"fa.train {user['reduced_total_seconds']:.2f} s (factoring {user['factor_seconds']:.2f} s) vs dense engine "
        f"{user['dense_total_seconds']:.1f} s: {user['speedup']:.0f}×"
    )

    fc = forecast_case(*((5000, 2000, 10_000) if not args.quick else (500, 200, 1000)))
    print(
        f"fa.forecast on a dense {fc['n']}×{fc['m']} matrix (rank {fc['rank']}), r = {fc['r']}, "
        f"{fc['draws']} draws, oversampling p = {fc['oversampling_p']}: {fc['total_seconds']:.1f} s "
        f"({fc['total_cpu_seconds']:.1f} s of CPU) "
        f"(its singular values alone {fc['singular_values_seconds']:.1f} s)"
    )

    args.out.mkdir(parents=True, exist_ok=True)
    doc = dict(
        k=K,
        r=R,
        eta=ETA,
        torch=flavour,
        agreement=agree,
        rows=rows,
        headline_speedup=head,
        dense_y_user_path=user,
        forecast=fc,
        reduced_step_max_over_min=flat,
        python=platform.python_version(),
        numpy=np.__version__,
        machine=platform.machine(),
        cpu_count=os.cpu_count(),
    )
    (args.out / "bench.json").write_text(json.dumps(doc, indent=2) + "\n")
    plot(rows, competitors, S0, args.out / "bench")
    print(f"wrote {args.out / 'bench.json'} and {args.out / 'bench.png'}")
    return 0


def plot(rows, competitors, S0, stem):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from companion import figures as fp

    fp.use_style()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 4.6))
    for c in competitors:
        pts = sorted(
            (r["n"], r["seconds_per_step"])
            for r in rows
            if r["problem"] == "scaling_n" and r["competitor"] == c
        )
        if pts:
            ax.loglog(*zip(*pts), "o-", label=c)
        pts = sorted(
            (r["S"], r["seconds_per_step"])
            for r in rows
            if r["problem"] == "scaling_S" and r["competitor"] == c
        )
        if pts:
            ax2.loglog(*zip(*pts), "o-", label=c)
    ax.set(
        xlabel="n = m",
        ylabel="seconds per step (all seeds)",
        title=f"FA step time vs size (k = {K}, r = {R}, S = {S0})",
    )
    ax2.set(
        xlabel="seeds S",
        ylabel="seconds per step (all seeds)",
        title="FA step time vs number of seeds",
    )
    ax.legend()
    ax2.legend()
    fp.save(fig, stem)


if __name__ == "__main__":
    sys.exit(main())
