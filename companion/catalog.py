"""Every claim and beyond-the-paper question: its title, its text and its figures.

This is the one place the prose of each result lives. The report
(:mod:`companion.report`), the README gallery and ``docs/`` (:mod:`companion.docs`)
all read it, so they never disagree. A measured number is never typed here: a
text is a template whose ``{fields}`` are filled by :meth:`Section.text_for` from
the ``measured`` block of the notebook's results JSON, so the prose always quotes
the build it sits beside.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """One result of the companion.

    Attributes
    ----------
    anchor : str
        HTML anchor in the report.
    title : str
    notebook : str
        Stem of the notebook under ``notebooks/`` that computes and checks it.
    figures : tuple of str
        Figure stems the notebook writes, in reading order.
    text : str
        What the result says, in this project's words: a template for
        :meth:`str.format`, whose fields ``numbers`` fills.
    numbers : callable or None
        ``numbers(measured) -> dict`` of formatted strings, from the notebook's
        ``measured`` block; None if the text quotes no measured number.
    gallery : str or None
        The figure shown in the README gallery (one of ``figures``), if any.
    beyond : bool
        True for questions beyond the paper (not claims of the paper).
    """

    anchor: str
    title: str
    notebook: str
    figures: tuple[str, ...]
    text: str
    numbers: Callable[[dict], dict] | None = None
    gallery: str | None = None
    beyond: bool = False

    def text_for(self, measured: dict) -> str:
        """The text with its measured numbers filled in from ``measured``.

        ``measured`` is the ``"measured"`` block of the notebook's results JSON
        (``build/results/<notebook>.json``); a missing number raises KeyError.
        """
        return self.text.format(**self.numbers(measured)) if self.numbers else self.text

    @property
    def gallery_name(self) -> str:
        """File stem of the gallery copy under ``docs/figures/``."""
        return self.anchor


def real_data_numbers(m: dict) -> dict:
    """The digits section's numbers: the autoencoder's FA/OPT at the smallest and the largest r
    tried, the regression's largest median FA/OPT, and Σ̂'s condition number."""
    ae = {int(r): v for r, v in m["fa_over_opt_median"]["autoencoder, raw"].items()}
    r_low, r_high = min(ae), max(ae)
    mantissa, exponent = f"{m['input_condition_number']:.0e}".split("e")
    return dict(
        condition=f"{mantissa}·10{str(int(exponent)).translate(SUPERSCRIPTS)}",
        ae_low=f"{ae[r_low]:.1f}",
        r_low=r_low,
        ae_high=f"{ae[r_high]:.1f}",
        r_high=r_high,
        reg_max=f"{max(m['fa_over_opt_median']['regression, raw'].values()):.2f}",
    )


SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def notebooks() -> list[str]:
    """Every notebook stem that carries a section, in reading order, each once."""
    return list(dict.fromkeys(s.notebook for s in SECTIONS))


def signed(x: float) -> str:
    """``x`` to two decimals, with a typographic minus."""
    return f"{x:.2f}".replace("-", "−")


CLAIMS = (
    Section(
        "convergence",
        "1. FA converges to the optimum when r ≥ rank(Y)",
        "convergence",
        ("convergence", "overparameterization", "speed_vs_feedback_scale"),
        "With at least as many hidden units as the rank of Y, FA and FA* from zero, and every rule from a small "
        "random start at r = k, drive the error to zero (to rounding level), and the convergence is linear: the "
        "log error falls on a straight line, at the rate the alignment predicts. For FA* from zero on a target "
        "with equal singular values this is derived, with its rate in terms of σ_k(B V_k); for other spectra it "
        "rests on a conjecture checked on every run. With extra units FA from zero gets faster, as B V_k becomes "
        "better conditioned. Convergence from random starts at r > k is not reproduced: there both rules crawl. "
        "FA's speed grows with the scale of the feedback B.",
        gallery="convergence",
    ),
    Section(
        "alignment",
        "2. W aligns with B, and the alignment drives convergence",
        "convergence",
        ("alignment", "conservation", "lyapunov"),
        "The forward weights W turn towards the fixed feedback B: cos(W, B) ends far above its null distribution "
        "and λ_min(sym W Bᵀ) grows from 0. The conserved quantity ZᵀZ − (WBᵀ + BWᵀ) explains why: from zero init "
        "it pins the alignment to ½ λ_min(ZᵀZ). The discrete FA step drifts from it, by O(η²) per step and O(η) over a "
        "fixed time; our FA* variant conserves it exactly. Near the limit the eigenvalues of W Bᵀ and ZᵀZ predict every run's rate. With B held fixed, "
        "different starts converge at different rates, each predicted by its own alignment: a well-conditioned B "
        "alone cannot explain that.",
        gallery="alignment",
    ),
    Section(
        "separation",
        "3. FA can be far from optimal when r < rank(Y)",
        "separation",
        ("error_curves", "ratio_distribution", "where_the_gap_comes_from", "oversampling"),
        "With fewer units than the rank, GD finds the best rank-r fit. FA's representation is fixed at its first "
        "step to col(Y Bᵀ), a random sketch of Y, and its error is that of projecting onto the sketch: often many "
        "times the optimum (median {median} on the default spectrum, a relative error of {fa} against GD's "
        "{gd}), with a heavy tail over draws of B. From zero the error never goes below that plateau, at any "
        "step; from random starts FA stops there too, and each run stops exactly at its predicted plateau. "
        "Oversampling (more units than the rank one cares about) rescues FA, as the randomized range-finder "
        "bound predicts, and on a head-plus-flat-tail spectrum that bound is nearly attained.",
        numbers=lambda m: dict(
            median=f"{m['default_spectrum']['median_ratio']:.0f}×",
            fa=f"{m['default_spectrum']['fa_relative_error']:.1%}",
            gd=f"{m['default_spectrum']['gd_relative_error']:.2%}",
        ),
        gallery="ratio_distribution",
    ),
    Section(
        "orthogonal",
        "4. GD and FA learn almost orthogonal representations at almost equal error",
        "orthogonal",
        ("angles_vs_rank", "one_run", "sensitivity"),
        "On a nearly flat spectrum, GD picks the top singular subspace and FA a nearly random one. As the rank "
        "grows, their overlap falls like (1+δ)² r/k and every principal angle approaches 90°, while FA's error "
        "exceeds GD's by exactly ((1+δ)²−1) r (1 − overlap)/(k−r), which tends to zero. On this spectrum the "
        "near-equality is automatic, since no r directions capture much of Y (at k = {k}, both relative errors "
        "are at least {gd}): the construction witnesses the claim, it does not show that FA fits well.",
        numbers=lambda m: dict(
            k=f"{m['largest_k']}",
            gd=f"{min(m['gd_relative_error_min_largest_k'], m['fa_relative_error_min_largest_k']):.2%}",
        ),
        gallery="angles_vs_rank",
    ),
    Section(
        "linear_network",
        "5. It holds for two-layer linear networks with isotropic inputs and a linear target",
        "linear_network",
        ("exact_correspondence", "finite_samples", "minibatch_sgd", "anisotropic"),
        "This is the abstract's condition: the training input is isotropic and the output a linear function of "
        "the input. An actual network x → Wᵀ Zᵀ x trained on whitened samples follows the factorization's "
        "trajectory to rounding. With Gaussian inputs its error approaches the factorization's like 1/N as the "
        "sample size N grows (fitted slopes {gd_slope} for GD, {fa_slope} for FA), GD's subspace to first order, "
        "like N^−1/2, with the constant derived here, and the separation survives at every N; minibatch SGD "
        "reaches the same limits. Without the condition the limits move: with anisotropic inputs the loss "
        "becomes Σ-weighted, FA's subspace is still col(Y Bᵀ) but its fit, and GD's optimum, change with Σ "
        "seed by seed, as their closed forms do.",
        numbers=lambda m: dict(
            gd_slope=signed(m["finite_sample_slopes"]["gd"]),
            fa_slope=signed(m["finite_sample_slopes"]["fa"]),
        ),
        gallery="finite_samples",
    ),
)

BEYOND = (
    Section(
        "beyond_rules",
        "Which feedback rules close the separation?",
        "beyond_rules",
        ("rules", "rho_correlated"),
        "For r < rank(Y): Kolen–Pollack, whose feedback learns with W's update, reaches GD with weight decay's "
        "error once B − W has decayed (exactly, when B₀ = W₀), closing the separation up to the shrinkage bias "
        "r·λ². FA with weight decay keeps FA's random subspace. Magnitude-matched sign symmetry nearly closes the "
        "gap (median error {sign}× the optimum, against FA's {fa}×). Linear DRTP diverges at a constant step. "
        "Feedback "
        "correlated with the initial forward weights (ρ-correlated) closes it at none of the ρ tried.",
        numbers=lambda m: dict(
            sign=f"{m['median_ratio']['sign symmetry']:.2f}", fa=f"{m['median_ratio']['FA']:.1f}"
        ),
        beyond=True,
    ),
    Section(
        "beyond_depth",
        "Does depth change the picture? Y ≈ Z₁Z₂Z₃",
        "beyond_depth",
        ("depth",),
        "With three factors, layer-wise FA and DFA still pin the first layer's range to a random sketch col(Y Gᵀ), "
        "with G = B₂B₃ or D₁, and stop exactly at the projection onto it, far above the optimum that backprop "
        "reaches. Only the last feedback matrix matters, because col(Y(B₂B₃)ᵀ) = col(Y B₃ᵀ).",
        beyond=True,
    ),
    Section(
        "beyond_nonlinear",
        "Does the picture survive nonlinearity?",
        "beyond_nonlinear",
        ("nonlinear",),
        "A tanh or ReLU student with fewer hidden units than its teacher, trained on Gaussian inputs: FA stops "
        "above backprop on every seed, on training and test data, and the two learn clearly different first "
        "layers. These are measurements; the paper's theory covers linear networks only.",
        beyond=True,
    ),
    Section(
        "beyond_real_data",
        "Do the claims hold on real data? Handwritten digits",
        "beyond_real_data",
        ("autoencoder", "reading_directions", "regression", "whitening_speed"),
        "Two linear networks on 1797 handwritten digits (UCI, CC BY 4.0), whose pixel covariance has condition "
        "number {condition}. Their limits are the Σ-weighted closed forms, and the runs end there. An "
        "autoencoder: GD finds the principal subspace, FA a uniformly random one, and FA/OPT grows with r "
        "(median {ae_low} at r = {r_low}, {ae_high} at r = {r_high}). A regression to the labels: near-equal "
        "error (median FA/OPT at most {reg_max}, exactly 1 once r ≥ rank 9) with features that overlap only "
        "about as much as random ones. Whitening the inputs leaves "
        "the regression's limits unchanged and makes training far faster; for the autoencoder it makes every "
        "r-subspace optimal, so FA becomes exactly optimal. The sizes of these effects are measurements.",
        numbers=real_data_numbers,
        gallery="autoencoder",
        beyond=True,
    ),
    Section(
        "your_data",
        "Will random feedback work on your data? A forecast from the closed forms",
        "your_data",
        ("forecast",),
        "For any matrix (a .npy or .csv file) or data set (an .npz with inputs X and targets T), fa.forecast "
        "gives GD's optimum and the distribution, over draws of the feedback B, of FA's limit: the projection "
        "onto the sketch col(Y Bᵀ), Σ̂-weighted for a data set. With it come the overlap of FA's subspace "
        "with GD's and the number of extra hidden units that bring FA's median within a factor 1 + ε of the optimum (ε a parameter), "
        "beside the randomized range-finder bound. Training GD and FA confirms it: each FA run ends at its "
        "own predicted plateau, GD at the optimum. The default file is the shipped digits as a matrix of "
        "1797 centred images by 61 pixels; how far FA stops from the optimum there is a measurement.",
        beyond=True,
    ),
)

SECTIONS = CLAIMS + BEYOND
