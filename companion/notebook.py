"""What every notebook calls after its parameters cell: :func:`start`.

    nb = start("separation", globals(), quick=dict(n=60, m=50))
    ...
    nb.claims.check("GD reaches OPT", dev, "<", 1e-8)
    nb.show(fig, "error_curves")
    ...
    nb.finish()

:func:`start` applies the notebook's quick sizes, records the parameters that
are actually used (after that override), sets the figure style and creates
the output folders. The results JSON thus never records sizes that did not run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import EXPLICIT_ENV, figures
from .claims import Claims, output_paths

# Values a parameters cell may hold (papermill's simple types).
_SIMPLE = (bool, int, float, str, list, dict, tuple, type(None))
# IPython's own entries in a kernel's namespace; never parameters.
_KERNEL_NAMES = {"In", "Out", "exit", "quit", "get_ipython", "open"}
# Where the outputs go; not a parameter of the experiment.
_NOT_RECORDED = {"build_dir"}


@dataclass
class Notebook:
    """A running notebook's parameters, output folders and checks.

    Attributes
    ----------
    name : str
    params : dict
        The parameters as used (after any quick override), in declaration order.
    figures : Path
        Folder for this notebook's figures.
    quick : bool
        Tiny sizes (a smoke test): figures are written as PNG only.
    results : Path
        Its results JSON.
    claims : Claims
        The checks, written to ``results`` by :meth:`finish`.
    """

    name: str
    params: dict
    figures: Path
    results: Path
    claims: Claims
    quick: bool = False

    def show(self, fig, name: str) -> None:
        """Save ``fig`` as figures/name.png (and .pdf in a full build), show that PNG here, and close the figure."""
        figures.save(fig, self.figures / name, pdf=not self.quick, show=True)

    def finish(self) -> None:
        """Print the checks, write the results JSON, and raise if any check failed."""
        print(self.claims.table())
        self.claims.write(self.results)
        self.claims.assert_all()


def parameters(namespace: dict) -> dict:
    """The notebook's parameters: the simple values defined in ``namespace`` so far.

    Call it before the notebook defines anything else of a simple type: right
    after the parameters cell and its imports.
    """
    return {
        k: v
        for k, v in namespace.items()
        if not k.startswith("_") and k not in _KERNEL_NAMES and isinstance(v, _SIMPLE)
    }


def start(name: str, namespace: dict, quick: dict | None = None) -> Notebook:
    """Apply the quick sizes, record the parameters used, and prepare the outputs.

    Parameters
    ----------
    name : str
        The notebook's stem (its results JSON and figure folder are named so).
    namespace : dict
        The notebook's ``globals()``; it must hold ``quick`` and ``build_dir``.
    quick : dict, optional
        Parameter values for ``quick=True``: tiny sizes that still test every claim.

    Returns
    -------
    Notebook
    """
    declared = parameters(namespace)
    missing = {"quick", "build_dir"} - set(declared)
    if missing:
        raise ValueError(f"{name}: the parameters cell must declare {sorted(missing)}")
    unknown = sorted(set(quick or {}) - set(declared))
    if unknown:
        raise ValueError(f"{name}: quick sizes name undeclared parameters {unknown}")
    explicit = set(filter(None, os.environ.get(EXPLICIT_ENV, "").split(",")))
    if namespace["quick"]:
        namespace.update({k: v for k, v in (quick or {}).items() if k not in explicit})
        kept = sorted(explicit & set(quick or {}))
        if kept:
            print(
                f"quick sizes applied, except the values you set: {', '.join(f'{k}={namespace[k]!r}' for k in kept)}"
            )
    params = {k: namespace[k] for k in declared if k not in _NOT_RECORDED}
    figures.use_style()
    fig_dir, results = output_paths(namespace["build_dir"], name)
    return Notebook(
        name, params, fig_dir, results, Claims(name, params), quick=bool(namespace["quick"])
    )
