"""Execute a jupytext notebook with papermill, safely and reproducibly.

    python -m companion.pipeline notebooks/separation.py --build-dir build \
        --output build/notebooks/separation.ipynb [--quick] [-p eta=0.05 ...]

What this adds to plain papermill:

* unknown parameter names are an error (papermill only warns), listing the
  notebook's declared parameters with their help comments;
* values are parsed as YAML (``quick=false`` is the bool False, not the
  string "false") and checked against the declared default's type;
* the executed notebook is written to a temporary file and renamed only on
  success, so make never mistakes a failed run for a finished one;
* run timestamps are stripped, so rebuilds are byte-identical;
* one line per notebook with its wall time.

Not an algorithm module: this one does I/O and runs kernels.
"""
from __future__ import annotations

import argparse
import ast
import os
import shutil
import sys
import time
from pathlib import Path

# Volatile metadata papermill writes on every run.
_VOLATILE_NB = ("start_time", "end_time", "duration", "input_path", "output_path", "exception")
_VOLATILE_CELL = ("papermill", "execution")
_TYPES = {"bool": bool, "int": int, "float": float, "str": str, "list": list, "dict": dict}


class ParameterError(ValueError):
    """A notebook parameter that the notebook does not declare, or of the wrong type."""


def to_ipynb(source: Path, dest: Path) -> Path:
    """Convert a jupytext py:percent source to .ipynb with a python3 kernelspec."""
    import jupytext

    nb = jupytext.read(source)
    for i, cell in enumerate(nb.cells):  # nbformat draws random ids; fixed ones keep rebuilds byte-identical
        cell["id"] = f"cell-{i:03d}"
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.get("jupytext", {}).pop("text_representation", None)
    dest.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(nb, dest, fmt="ipynb")
    return dest


def declared_parameters(ipynb: Path) -> dict[str, dict]:
    """The parameters cell's names, inferred types, defaults and help comments."""
    import papermill

    return papermill.inspect_notebook(str(ipynb))


def parse_assignments(pairs: list[str]) -> dict:
    """``["eta=0.05", "sizes=[1, 2]"]`` -> ``{"eta": 0.05, "sizes": [1, 2]}`` (YAML values)."""
    import yaml

    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ParameterError(f"parameters must look like name=value; got {pair!r}")
        out[name.strip()] = yaml.safe_load(value) if value.strip() else ""
    return out


def check_parameters(params: dict, declared: dict[str, dict], notebook: str) -> None:
    """Reject unknown names and values whose type differs from the default's."""
    unknown = sorted(set(params) - set(declared))
    if unknown:
        listing = "\n".join(f"  {p['name']} = {p['default']}   # {p['help']}" for p in declared.values())
        raise ParameterError(f"{notebook}: unknown parameter(s) {unknown}. Valid parameters:\n{listing}")
    for name, value in params.items():
        want = _declared_type(declared[name])
        if want is None:
            continue
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        ok = ok or (want is float and isinstance(value, int) and not isinstance(value, bool))
        if not ok:
            raise ParameterError(f"{notebook}: parameter {name!r} must be {want.__name__} "
                                 f"(default {declared[name]['default']}); got {value!r}")


def _declared_type(param: dict) -> type | None:
    """The annotated type, else the type of the literal default (None if unknown)."""
    want = _TYPES.get(param["inferred_type_name"])
    if want is None:
        try:
            want = type(ast.literal_eval(param["default"]))
        except (ValueError, SyntaxError):
            return None
    return want if want in _TYPES.values() else None


def strip_volatile(path: Path) -> None:
    """Remove run timestamps and absolute paths from an executed notebook."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("papermill", {})
    for key in _VOLATILE_NB:
        meta.pop(key, None)
    for i, cell in enumerate(nb.cells):
        for key in _VOLATILE_CELL:
            cell.metadata.pop(key, None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"  # papermill gives it a random id
    nbformat.write(nb, path)


def temporary_path(path: Path, suffix: str = ".part") -> Path:
    """A sibling name for ``path`` that no other process uses: hidden, with this process's id."""
    return path.with_name(f".{path.name}.{os.getpid()}{suffix}")


def stale_outputs(name: str, output: Path, build_dir: Path) -> list[Path]:
    """What a previous run of notebook ``name`` left: its executed notebook, results JSON and figures."""
    build = Path(build_dir)
    return [output, build / "results" / f"{name}.json", build / "figures" / name]


def execute(source: Path, output: Path, params: dict, build_dir: Path) -> float:
    """Run one notebook; return its wall time in seconds.

    The parameters are checked first. Then the previous run's outputs are
    removed, so nothing stale can pass for this run's. The output notebook
    appears only if every cell (the closing claims check included) succeeded;
    a results JSON written before a failure stays, with its ✗. Temporary files
    are unique to this process and removed whatever happens.
    """
    import papermill

    source, output = Path(source), Path(output)
    name = source.stem
    output.parent.mkdir(parents=True, exist_ok=True)
    src_ipynb = temporary_path(output, ".src.ipynb")
    tmp_out = temporary_path(output, ".ipynb")
    try:
        to_ipynb(source, src_ipynb)
        check_parameters(params, declared_parameters(src_ipynb), name)
        for old in stale_outputs(name, output, build_dir):
            shutil.rmtree(old) if old.is_dir() else old.unlink(missing_ok=True)
        params = {**params, "build_dir": str(Path(build_dir).resolve())}
        t0 = time.perf_counter()
        papermill.execute_notebook(str(src_ipynb), str(tmp_out), parameters=params, kernel_name="python3",
                                   cwd=str(source.parent), progress_bar=False, log_output=False)
        strip_volatile(tmp_out)
        tmp_out.replace(output)
    finally:
        src_ipynb.unlink(missing_ok=True)
        tmp_out.unlink(missing_ok=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Execute a fa-companion notebook with papermill.")
    ap.add_argument("source", type=Path, help="jupytext .py source under notebooks/")
    ap.add_argument("--output", type=Path, help="executed .ipynb to write")
    ap.add_argument("--build-dir", type=Path, default=Path("build"), help="figures/ and results/ go here")
    ap.add_argument("--quick", action="store_true", help="pass quick=True (tiny sizes)")
    ap.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                    help="override a parameter; VALUE is YAML (true, 0.05, [1, 2])")
    ap.add_argument("--list-params", action="store_true", help="list the notebook's parameters and exit")
    args = ap.parse_args(argv)
    if not args.source.is_file():
        ap.error(f"no such notebook source: {args.source}")
    if args.list_params:
        tmp = temporary_path(Path(args.build_dir) / f"{args.source.stem}.params", ".ipynb")
        try:
            to_ipynb(args.source, tmp)
            for p in declared_parameters(tmp).values():
                print(f"{p['name']:>16} = {p['default']:<12} # {p['help']}")
        finally:
            tmp.unlink(missing_ok=True)
        return 0
    output = args.output or Path(args.build_dir) / "notebooks" / f"{args.source.stem}.ipynb"
    try:
        params = parse_assignments(args.param)
        if args.quick:
            params["quick"] = True
        seconds = execute(args.source, output, params, args.build_dir)
    except ParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # papermill's execution error carries the failing cell
        print(f"FAILED {args.source.stem}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"  {args.source.stem:<28} {seconds:6.1f} s  -> {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
