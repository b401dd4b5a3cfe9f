"""Run a notebook's code cells in this Python process, without a kernel.

    from companion import cells
    cells.run(Path("notebooks/separation.py"), {"quick": True, "build_dir": "/tmp/b"})

The cells run in order in one fresh namespace, in the current folder (a caller
that needs the notebook's folder starts its process there, as the sabotage
worker does), with figures drawn off-screen; the parameters are assigned at the end of the
parameters cell, as papermill injects them. Figures, results JSON and checks
behave as in a papermill run (``nb.finish()`` raises if a check fails), but
nothing is written as a notebook. This is how the sabotage suite and the
profiler run notebooks: it costs no kernel start-up and no papermill import.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def code_cells(source: Path, params: dict) -> list[str]:
    """The code cells' sources, with ``params`` assigned right after the parameters cell's own code."""
    import jupytext

    out = []
    for cell in jupytext.read(source).cells:
        if cell.cell_type != "code":
            continue
        code = cell.source
        if "parameters" in cell.metadata.get("tags", []):
            code += "\n" + "".join(f"{name} = {value!r}\n" for name, value in params.items())
        out.append(code)
    return out


def run(source: Path, params: dict, runner: Callable | None = None) -> dict:
    """Execute the notebook ``source`` with ``params``; return its namespace.

    ``runner(code, namespace)`` executes one compiled cell (default ``exec``):
    a profiler passes one that times and profiles it. Exceptions propagate.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    source = Path(source).resolve()
    namespace: dict = {"__name__": "__main__"}
    try:
        for i, code in enumerate(code_cells(source, params)):
            (runner or exec)(compile(code, f"<{source.stem} cell {i}>", "exec"), namespace)
    finally:
        plt.close("all")
    return namespace
