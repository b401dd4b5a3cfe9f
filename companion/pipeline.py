"""Execute a jupytext notebook with papermill, safely and reproducibly.

    python -m companion.pipeline notebooks/separation.py --build-dir build \
        --output build/notebooks/separation.ipynb [--quick] [-p eta=0.05 ...]
    python -m companion.pipeline separation --run [--quick] --params "eta=0.05 steps=2e4"
    python -m companion.pipeline separation --list-params

What this adds to ``papermill.execute_notebook``:

* unknown parameter names are an error (papermill only warns), listing the
  notebook's declared parameters with their help comments;
* values are typed like Python literals and then to the declared default's
  type: ``eta=1e-3`` is a float, ``steps=2e4`` the int 20000, ``r_list=[1, 2]``
  a list, ``quick=false`` the bool False; a mismatch or a non-finite number
  names the parameter, the value and an example, before any cell runs;
* ``--quick`` applies the notebook's quick sizes
  (:func:`companion.notebook.quick_parameters`), then the values the user set;
* the executed notebook is written to a hidden temporary file and renamed only
  on success, so make never mistakes a failed or killed run for a finished
  one; temporary files of killed runs are removed by the next run;
* a notebook that raises leaves no figures or results of its own; with
  ``--run`` (``make run``) its executed notebook is kept, with the full
  traceback, and the terminal gets one line; a notebook whose checks fail
  keeps its results JSON (✗) for the report;
* executed notebooks are byte-identical from run to run: run timestamps are
  stripped and consecutive stream outputs merged;
* the kernel's transport is encrypted (CurveZMQ keys provisioned by the kernel
  manager), so the kernel prints no warning about plain-text TCP.

Not an algorithm module: this one does I/O and runs kernels.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import logging
import math
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from .atomic import remove_abandoned_temporaries, temporary_path
from .notebook import quick_parameters

# Metadata papermill writes on every run.
_VOLATILE_NB = ("start_time", "end_time", "duration", "input_path", "output_path", "exception")
_VOLATILE_CELL = ("papermill", "execution")
_TYPES = {"bool": bool, "int": int, "float": float, "str": str, "list": list, "dict": dict}
_EXAMPLES = {
    bool: "true",
    int: "2000",
    float: "1e-3",
    str: '"abc"',
    list: "[1, 2]",
    dict: "{'a': 1}",
    None: "1",
}
_KINDS = {
    bool: "true or false",
    int: "an integer",
    float: "a finite number",
    str: "a string",
    list: "a list",
    dict: "a dict",
    None: "a finite value",
}
# Parameters whose names contain these words set how long or how fast a run trains (steps,
# iterated_steps, eta, eta_list): a failed check after changing one may mean it has not converged.
_CONVERGENCE_HINT = ("steps", "eta")


class ParameterError(ValueError):
    """A notebook parameter that the notebook does not declare, or a value it cannot take."""


class ChecksFailed(RuntimeError):
    """The notebook ran to its end, but some of its checks are ✗."""


class NotebookFailed(RuntimeError):
    """A cell of the notebook raised; ``ename`` and ``evalue`` are its exception's."""

    def __init__(self, ename: str, evalue: str):
        super().__init__(f"{ename}: {evalue}")
        self.ename, self.evalue = ename, evalue


def to_ipynb(source: Path, dest: Path) -> Path:
    """Convert a jupytext py:percent source to .ipynb with a python3 kernelspec."""
    import jupytext

    nb = jupytext.read(source)
    for i, cell in enumerate(nb.cells):  # nbformat draws random ids; fixed ones keep rebuilds equal
        cell["id"] = f"cell-{i:03d}"
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata.get("jupytext", {}).pop("text_representation", None)
    dest.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(nb, dest, fmt="ipynb")
    return dest


def declared_parameters(ipynb: Path) -> dict[str, dict]:
    """The parameters cell's names, inferred types, defaults and help comments."""
    import papermill

    return papermill.inspect_notebook(str(ipynb))


def split_assignments(text: str) -> list[str]:
    """``"eta=1e-3 r_list=[1, 2]"`` -> ``["eta=1e-3", "r_list=[1, 2]"]``: spaces inside brackets or quotes stay."""
    parts, depth, quote, current = [], 0, None, ""
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[({":
            depth += 1
        elif ch in "])}":
            depth -= 1
        if ch.isspace() and depth <= 0 and quote is None:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [p for p in [*parts, current] if p]


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """``["eta=1e-3", "r_list=[1, 2]"]`` -> ``{"eta": "1e-3", "r_list": "[1, 2]"}``; typed by :func:`check_parameters`."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ParameterError(
                f"parameters must look like name=value (e.g. eta=0.05); got {pair!r}"
            )
        out[name.strip()] = value.strip()
    return out


def typed_value(text, want: type | None):
    """A command-line value as the declared type: Python literal syntax, YAML-style booleans.

    Ints accept exact float spellings (``2e4`` is 20000); floats accept ints.
    Raises ``ValueError`` if the value cannot be that type, or is a non-finite number.
    """
    if not isinstance(text, str):  # already typed (a call from Python, or the quick sizes)
        value = text
    elif text.lower() in ("true", "false"):
        value = text.lower() == "true"
    elif text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        value = float(text)
    else:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            value = text  # a plain string
    if want is str and not isinstance(value, str):
        return text if isinstance(text, str) else str(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(value)
    if want is None:
        return value
    if want is int and isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if want is list and isinstance(value, tuple):
        return list(value)
    if not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
        raise ValueError(value)
    return value


def check_parameters(params: dict, declared: dict[str, dict], notebook: str) -> dict:
    """Reject unknown names, type every value to its declared default's type, and return them typed."""
    reserved = sorted(set(params) & {"build_dir"})
    if reserved:
        raise ParameterError(
            f"{notebook}: {reserved[0]} is set by the pipeline (use --build-dir, or make run, which "
            "writes to build/run/<notebook>/); it cannot be passed as a parameter"
        )
    unknown = sorted(set(params) - set(declared))
    if unknown:
        listing = "\n".join(
            f"  {p['name']} = {p['default']}   # {p['help']}" for p in declared.values()
        )
        raise ParameterError(
            f"{notebook}: unknown parameter(s) {unknown}. Valid parameters:\n{listing}"
        )
    typed = {}
    for name, value in params.items():
        want = _declared_type(declared[name])
        try:
            typed[name] = typed_value(value, want)
        except ValueError:
            raise ParameterError(
                f"{notebook}: parameter {name!r} must be {_KINDS[want]} (default "
                f"{declared[name]['default']}, e.g. {name}={_EXAMPLES[want]}); got {value!r}"
            ) from None
    return typed


def _declared_type(param: dict) -> type | None:
    """The annotated type, else the type of the literal default (None if unknown)."""
    want = _TYPES.get(param["inferred_type_name"])
    if want is None:
        try:
            want = type(ast.literal_eval(param["default"]))
        except (ValueError, SyntaxError):
            return None
    return want if want in _TYPES.values() else None


def clean_executed(path: Path) -> None:
    """Make an executed notebook reproducible: strip run timestamps and paths, merge stream outputs.

    A ``print`` that reaches the kernel's IOPub in one or in two messages
    (timing) gives one stream output either way (nbconvert's
    ``CoalesceStreamsPreprocessor``).
    """
    import nbformat
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("papermill", {})
    for key in _VOLATILE_NB:
        meta.pop(key, None)
    for cell in nb.cells:
        for key in _VOLATILE_CELL:
            cell.metadata.pop(key, None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"  # papermill gives it a random id
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    nbformat.write(nb, path)


def run_outputs(name: str, build_dir: Path) -> list[Path]:
    """What a run of notebook ``name`` writes besides its executed notebook: results JSON and figures."""
    build = Path(build_dir)
    return [build / "results" / f"{name}.json", build / "figures" / name]


def _remove(paths: list[Path]) -> None:
    for path in paths:
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


def _kernel_config():
    """The kernel manager's settings: transport encryption, so the kernel warns of no plain-text TCP.

    ``transport_encryption="auto"`` (jupyter_client) provisions CurveZMQ keys
    for kernels that declare support, as ipykernel does; without CurveZMQ in
    libzmq, the kernel talks over local IPC sockets instead.
    """
    import zmq
    from traitlets.config import Config

    if zmq.has("curve"):
        return Config({"KernelManager": {"transport_encryption": "auto"}})
    return Config({"KernelManager": {"transport": "ipc"}})


@contextlib.contextmanager
def _interrupt_exits(name: str, paths: list[Path]):
    """While inside, SIGINT removes ``paths`` and ends the process at once (status 130).

    A KeyboardInterrupt raised at an arbitrary point inside papermill's event loop
    can leave the run waiting for the interrupted cell: in full test runs under
    load the pipeline was still alive 60 s after Ctrl-C, about one time in two.
    This handler does not unwind through the loop; the kernel, orphaned, exits
    when it sees that its parent is gone, as after a kill. On leaving, the
    previous handler is back, so a finished run's files are never removed.
    """

    def handler(signum, frame):
        _remove(paths)
        _say_interrupted(name)
        os._exit(130)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _say_interrupted(name: str) -> None:
    print(f"  ✗ {name}: interrupted", file=sys.stderr, flush=True)


def execute(
    source: Path,
    output: Path,
    params: dict,
    build_dir: Path,
    keep_failed: bool = False,
    progress: bool = False,
    exit_on_interrupt: bool = False,
) -> float:
    """Run one notebook; return its wall time in seconds.

    The parameters are checked and typed first. Then the previous run's
    outputs are removed, so nothing stale can pass for this run's. The output
    notebook appears only if every cell succeeded, or with ``keep_failed``
    (then :class:`ChecksFailed` or :class:`NotebookFailed` is raised all the
    same). A notebook that raises, or a run that is interrupted, leaves no
    figures or results; one whose checks fail keeps its results JSON, ✗ and
    all. With ``progress``, each cell is announced as it starts and the
    notebook's output (progress bars included) is copied to the terminal.
    With ``exit_on_interrupt`` (the command line), Ctrl-C removes what the run
    wrote and ends the process at once with status 130.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source, output = Path(source), Path(output)
    name = source.stem
    output.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_temporaries(output)
    src_ipynb = temporary_path(output, ".src.ipynb")
    tmp_out = temporary_path(output, ".ipynb")
    t0 = time.perf_counter()
    try:
        to_ipynb(source, src_ipynb)
        declared = declared_parameters(src_ipynb)
        params = check_parameters(params, declared, name)
        _remove([output, *run_outputs(name, build_dir)])
        if "build_dir" in declared:
            # relative to the kernel's working folder, so executed notebooks name no machine's path
            params["build_dir"] = os.path.relpath(
                Path(build_dir).resolve(), source.parent.resolve()
            )
        ours = [output, *run_outputs(name, build_dir), tmp_out, src_ipynb]
        try:
            # Written once, at the end or at the failing cell, not after every cell; the kernel is
            # stopped as soon as the last cell has replied, since the notebook writes its own files.
            with _interrupt_exits(name, ours) if exit_on_interrupt else contextlib.nullcontext():
                papermill.execute_notebook(
                    str(src_ipynb),
                    str(tmp_out),
                    parameters=params,
                    kernel_name="python3",
                    cwd=str(source.parent),
                    progress_bar=False,
                    log_output=progress,
                    request_save_on_cell_execute=False,
                    shutdown_kernel="immediate",
                    config=_kernel_config(),
                )
        except PapermillExecutionError as exc:
            checks = exc.ename == "ClaimFailed"
            if not checks:
                _remove(run_outputs(name, build_dir))
            if keep_failed and tmp_out.is_file():
                clean_executed(tmp_out)
                tmp_out.replace(output)
            if checks:
                raise ChecksFailed(exc.evalue) from None
            raise NotebookFailed(exc.ename, exc.evalue) from None
        clean_executed(tmp_out)
        tmp_out.replace(output)
    except (ParameterError, ChecksFailed, NotebookFailed):
        raise
    except BaseException:  # interrupted, or the kernel died: nothing of this run may look finished
        _remove([output, *run_outputs(name, build_dir)])
        raise
    finally:
        src_ipynb.unlink(missing_ok=True)
        tmp_out.unlink(missing_ok=True)
    return time.perf_counter() - t0


def resolve_source(notebook: str) -> Path:
    """A notebook's source from its name (``separation``) or its path (``notebooks/separation.py``)."""
    path = Path(notebook)
    if path.suffix != ".py" and "/" not in notebook:
        path = Path("notebooks") / f"{notebook}.py"
    if not path.is_file():
        names = " ".join(sorted(p.stem for p in Path("notebooks").glob("*.py")))
        raise ParameterError(f"no notebook {notebook!r}; the notebooks are: {names}")
    return path


def _show_progress() -> None:
    """Papermill's log (each cell as it starts, the notebook's output as it comes) on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.terminator = ""  # progress bars redraw one line ("\r"); a printed line ends itself
    handler.setFormatter(_ProgressFormatter())
    log = logging.getLogger("papermill")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


# papermill's own log lines, which say nothing a make run needs (the paths are temporary files)
_PAPERMILL_CHATTER = (
    "Input Notebook",
    "Output Notebook",
    "Working directory",
    "Executing notebook with",
    "Ending Cell",
)


class _ProgressFormatter(logging.Formatter):
    """Papermill's "Executing Cell 3---" as "  cell 3"; the notebook's output as it is."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if text.startswith("Executing Cell"):
            return f"  cell {text.removeprefix('Executing Cell').strip(' -')}\n"
        if text.startswith(_PAPERMILL_CHATTER):
            return ""
        return text if text.endswith("\n") or text.startswith("\r") else text + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Execute a fa-companion notebook with papermill.",
        epilog="exit status: 0 every check holds; 1 a check failed or the notebook raised; "
        "2 a bad parameter or command line",
    )
    ap.add_argument(
        "notebook", nargs="?", help="a notebook's name (separation) or its source (notebooks/x.py)"
    )
    ap.add_argument("--output", type=Path, help="executed .ipynb to write")
    ap.add_argument("--build-dir", type=Path, help="figures/ and results/ go here (default build)")
    ap.add_argument("--quick", action="store_true", help="the quick sizes (notebooks/quick/)")
    ap.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a parameter; VALUE as in Python (true, 1e-3, 2e4, [1, 2], 'a b')",
    )
    ap.add_argument(
        "--params",
        default="",
        metavar='"NAME=VALUE ..."',
        help="several parameters in one string, as make run's PARAMS (lists may contain spaces)",
    )
    ap.add_argument(
        "--run",
        action="store_true",
        help="make run: into build/run/<name>/, showing progress, keeping a failed notebook",
    )
    ap.add_argument(
        "--list-params", action="store_true", help="list the notebook's parameters and exit"
    )
    args = ap.parse_args(argv)
    try:
        if not args.notebook:
            raise ParameterError(
                "name a notebook: make run NB=<name> PARAMS='name=value ...'; the notebooks are: "
                + " ".join(sorted(p.stem for p in Path("notebooks").glob("*.py")))
            )
        source = resolve_source(args.notebook)
        name = source.stem
        if args.list_params:
            return _list_parameters(source)
        build_dir = args.build_dir or Path("build/run" if args.run else "build") / (
            name if args.run else ""
        )
        output = args.output or build_dir / "notebooks" / f"{name}.ipynb"
        user = parse_assignments([*split_assignments(args.params), *args.param])
        params = {**(quick_parameters(source) if args.quick else {}), **user}
        if args.run:
            _show_progress()
        print(f"  start  {name}{' (quick)' if args.quick else ''}", flush=True)
        seconds = execute(
            source,
            output,
            params,
            build_dir,
            keep_failed=args.run,
            progress=args.run,
            exit_on_interrupt=True,
        )
    except (ParameterError, FileNotFoundError) as exc:  # FileNotFoundError: no quick sizes
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ChecksFailed as exc:
        print(f"  ✗ {name}: {exc}", file=sys.stderr)
        if args.run:
            print(f"    the executed notebook shows them: {output}", file=sys.stderr)
        tuned = sorted(p for p in user if set(p.split("_")) & set(_CONVERGENCE_HINT))
        if tuned:
            print(
                f"    you set {', '.join(tuned)}: the run may not have converged; "
                "try more steps or a larger eta",
                file=sys.stderr,
            )
        return 1
    except NotebookFailed as exc:
        kept = f" (full traceback in {output})" if args.run else ""
        print(f"FAILED {name}: {exc}{kept}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C outside the kernel run: execute() has removed what it wrote
        _say_interrupted(args.notebook)
        return 130
    print(f"  done   {name:<24} {seconds:6.1f} s  -> {output}", flush=True)
    return 0


def _list_parameters(source: Path) -> int:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for p in declared_parameters(to_ipynb(source, Path(tmp) / "nb.ipynb")).values():
            print(f"{p['name']:>16} = {p['default']:<12} # {p['help']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
