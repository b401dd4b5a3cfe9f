"""What every notebook calls after its parameters cell: :func:`start`.

    nb = start("separation", globals())
    ...
    nb.claims.check("GD reaches OPT", dev, "<", 1e-8)
    nb.show(fig, "error_curves")
    ...
    nb.finish()

:func:`start` records the parameters as the notebook runs them, sets the
figure style and creates the output folders. The results JSON thus never
records sizes that did not run.

Quick sizes are data: ``notebooks/quick/<name>.yaml`` holds the tiny sizes
that still test every claim, and :func:`quick_parameters` turns them into the
parameters papermill injects (``make QUICK=1``, ``make run QUICK=1``, the
tests and the sabotage suite all call it). Values a user sets are merged after
them, so they win.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
        The parameters as run (defaults, quick sizes and values set by the user), in declaration order.
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
        from . import figures

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


def quick_parameters(source: str | Path) -> dict:
    """The parameters of a quick run of notebook ``source``: its quick sizes, and ``quick=True``.

    Parameters
    ----------
    source : str or Path
        The notebook's jupytext source, ``notebooks/<name>.py``; its quick sizes
        are read from ``notebooks/quick/<name>.yaml``.

    Returns
    -------
    dict
        The YAML's values, then ``quick: True``. Merge the values a user sets
        after these: ``{**quick_parameters(source), **user}``.

    Raises
    ------
    FileNotFoundError
        If the notebook has no quick sizes file.
    ValueError
        If the file is not a mapping of parameter names to values.
    """
    import yaml

    source = Path(source)
    path = source.parent / "quick" / f"{source.stem}.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"{source.stem}: no quick sizes; write them to {path} (name: value per line)"
        )
    sizes = yaml.safe_load(path.read_text()) or {}
    if not isinstance(sizes, dict) or not all(isinstance(k, str) for k in sizes):
        raise ValueError(f"{path} must map parameter names to values; got {sizes!r}")
    return {**sizes, "quick": True}


def start(name: str, namespace: dict) -> Notebook:
    """Record the parameters as run, set the figure style, and prepare the outputs.

    Parameters
    ----------
    name : str
        The notebook's stem (its results JSON and figure folder are named so).
    namespace : dict
        The notebook's ``globals()`` right after its parameters (and any values
        papermill injected); it must hold ``quick`` and ``build_dir``.

    Returns
    -------
    Notebook
    """
    declared = parameters(namespace)
    missing = {"quick", "build_dir"} - set(declared)
    if missing:
        raise ValueError(f"{name}: the parameters cell must declare {sorted(missing)}")
    from . import (
        figures,
    )  # matplotlib: imported by the notebook, not by the pipeline that reads quick sizes

    params = {k: namespace[k] for k in declared if k not in _NOT_RECORDED}
    figures.use_style()
    fig_dir, results = output_paths(namespace["build_dir"], name)
    return Notebook(
        name, params, fig_dir, results, Claims(name, params), quick=bool(namespace["quick"])
    )
