"""Execute a jupytext notebook with papermill, safely and reproducibly.

    python -m companion.pipeline notebooks/separation.py --build-dir build \
        --output build/notebooks/separation.ipynb [--quick] [-p eta=0.05 ...]

What this adds to plain papermill:

* unknown parameter names are an error (papermill only warns), listing the
  notebook's declared parameters with their help comments;
* values are typed like Python literals and then to the declared default's
  type: ``eta=1e-3`` is a float, ``steps=2e4`` the int 20000, ``r_list=[1, 2]``
  a list, ``quick=false`` the bool False; a mismatch names the parameter, the
  value and an example;
* the executed notebook is written to a temporary file and renamed only on
  success, so make never mistakes a failed run for a finished one; with
  ``--keep-failed`` (``make run``) a notebook whose checks fail is kept, ✗ and all;
* run timestamps are stripped, so rebuilds are byte-identical;
* the kernel's transport is encrypted where it can be, so it prints no warning;
* no idle time around the cells: the start-up handshake does not wait 0.2 s for
  silence, the executed notebook is written once rather than after every cell,
  and the kernel is stopped as soon as the last cell has replied;
* one line when a notebook starts and one when it ends, with its wall time;
* under ``make``, warm starts: :mod:`companion.warm` runs this in a process
  forked from one that has imported the libraries, and the kernel is forked too.

Not an algorithm module: this one does I/O and runs kernels.
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from queue import Empty

from . import EXPLICIT_ENV

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
    for i, cell in enumerate(
        nb.cells
    ):  # nbformat draws random ids; fixed ones keep rebuilds byte-identical
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
    Raises ``ValueError`` if the value cannot be that type.
    """
    if not isinstance(text, str):  # already typed (a call from Python)
        value = text
    elif text.lower() in ("true", "false"):
        value = text.lower() == "true"
    else:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text  # a plain string
    if want is None:
        return value
    if want is str and not isinstance(value, str):
        return text if isinstance(text, str) else str(value)
    if want is int and isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if want is list and isinstance(value, tuple):
        return list(value)
    if not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
        raise ValueError(value)
    return value


_EXAMPLES = {bool: "true", int: "2000", float: "1e-3", str: "abc", list: "[1, 2]", dict: "{'a': 1}"}


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
                f"{notebook}: parameter {name!r} must be {want.__name__} (default "
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


def strip_volatile(path: Path) -> None:
    """Remove run timestamps and absolute paths from an executed notebook."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("papermill", {})
    for key in _VOLATILE_NB:
        meta.pop(key, None)
    for _i, cell in enumerate(nb.cells):
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


# Set by companion.warm in a forked pipeline: a process ready to become this notebook's kernel.
kernel_seed = None


class ChecksFailed(RuntimeError):
    """The notebook ran to its end, but some of its checks are ✗."""


def _kernel_manager_class(log_path: Path | None = None):
    """The kernel manager papermill uses: CurveZMQ transport encryption where supported, kernel log to a file.

    An unencrypted TCP kernel logs a warning on every start; with keys
    provisioned (``transport_encryption="auto"``) it starts silently.
    """
    import zmq
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.channels import AsyncZMQSocketChannel
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import Type

    class PollingChannel(AsyncZMQSocketChannel):
        async def get_msg(self, timeout=None):
            """A message, waiting at most ``timeout`` seconds, in polls of at most 0.1 s.

            Under load, an asyncio wait on a ZeroMQ socket sometimes misses the
            wake-up for a message that has arrived: a widget notebook's
            execute_reply, sent on time, was read only when the wait timed out
            10 s later, and with no timeout it would wait forever. A new poll
            every 0.1 s sees it.
            """
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                step = 0.1 if deadline is None else max(0.0, min(0.1, deadline - time.monotonic()))
                try:
                    return await super().get_msg(timeout=step)
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

    class ReadyClient(AsyncKernelClient):
        shell_channel_class = Type(PollingChannel)
        iopub_channel_class = Type(PollingChannel)

        async def wait_for_ready(self, timeout=None):
            """jupyter_client's start-up handshake, minus its idle wait at the end.

            Once IOPub has delivered a message, jupyter_client reads IOPub until
            0.2 s pass without one: 0.2 s of idling per notebook. Here that drain
            takes only what has already arrived. A message arriving later does no
            harm: the notebook client skips IOPub messages that answer other requests.
            """
            channel, get_msg, connected = self.iopub_channel, self.iopub_channel.get_msg, False
            own = vars(channel).get(
                "get_msg"
            )  # a get_msg set on this channel object itself, if any

            async def get_without_waiting_once_connected(timeout=None):
                nonlocal connected
                msg = await get_msg(timeout=0 if connected else timeout)
                connected = True
                return msg

            channel.get_msg = get_without_waiting_once_connected
            try:
                await super().wait_for_ready(timeout)
            finally:
                if own is None:
                    del channel.get_msg
                else:
                    channel.get_msg = own

    class QuietKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.client_factory = ReadyClient
            if zmq.has("curve"):
                self.transport_encryption = "auto"

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            # The kernel's own log (e.g. "KeyboardInterrupt caught" as it shuts down) goes to a file, not the
            # console; a failing cell's traceback is in the executed notebook and papermill's error.
            global kernel_seed
            seed, kernel_seed = kernel_seed, None  # a seed becomes one kernel
            if seed is not None and seed.serves(
                kernel_cmd
            ):  # under companion.warm: fork, do not exec
                prov = self.provisioner
                env = {
                    **kw["env"],
                    "JPY_PARENT_PID": str(os.getpid()),
                }  # as jupyter_client's launcher sets it
                prov.process = seed.launch(
                    kernel_cmd,
                    env,
                    kw.get("cwd") or os.getcwd(),
                    None if log_path is None else str(log_path),
                )
                prov.pid, prov.pgid, prov.cwd = prov.process.pid, None, kw.get("cwd")
                self._reconcile_connection_info(prov.connection_info)
                return
            if log_path is not None:
                kw["stderr"] = open(log_path, "ab")  # noqa: SIM115 (closed by the subprocess's exit)
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return QuietKernelManager


@contextmanager
def _environment(name: str, value: str):
    """Set one environment variable for the duration of the block, then restore it."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def execute(
    source: Path, output: Path, params: dict, build_dir: Path, keep_failed: bool = False
) -> float:
    """Run one notebook; return its wall time in seconds.

    The parameters are checked and typed first. Then the previous run's
    outputs are removed, so nothing stale can pass for this run's. The output
    notebook appears only if every cell succeeded, unless ``keep_failed`` and
    the only failure is the closing check of the claims: then the executed
    notebook is kept, with its ✗ visible, and :class:`ChecksFailed` is raised.
    Temporary files are unique to this process and removed whatever happens.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source, output = Path(source), Path(output)
    name = source.stem
    output.parent.mkdir(parents=True, exist_ok=True)
    src_ipynb = temporary_path(output, ".src.ipynb")
    tmp_out = temporary_path(output, ".ipynb")
    kernel_log = temporary_path(
        output, ".kernel.log"
    ).resolve()  # papermill runs in the notebook's folder
    try:
        to_ipynb(source, src_ipynb)
        params = check_parameters(params, declared_parameters(src_ipynb), name)
        for old in stale_outputs(name, output, build_dir):
            shutil.rmtree(old) if old.is_dir() else old.unlink(missing_ok=True)
        explicit = ",".join(
            sorted(set(params) - {"quick"})
        )  # quick sizes never override these (companion.notebook)
        # relative to the kernel's working folder, so executed notebooks name no machine-specific path
        params = {
            **params,
            "build_dir": os.path.relpath(Path(build_dir).resolve(), source.parent.resolve()),
        }
        t0 = time.perf_counter()
        try:
            with _environment(
                EXPLICIT_ENV, explicit
            ):  # the kernel inherits this process's environment
                # The output is written once, at the end (or at a failing cell), not after every cell; and
                # the kernel is killed once the last cell has replied (shutdown_kernel="immediate"): the
                # notebook writes its figures and results inside its cells, and nothing waits for its exit.
                papermill.execute_notebook(
                    str(src_ipynb),
                    str(tmp_out),
                    parameters=params,
                    kernel_name="python3",
                    cwd=str(source.parent),
                    progress_bar=False,
                    log_output=False,
                    request_save_on_cell_execute=False,
                    shutdown_kernel="immediate",
                    kernel_manager_class=_kernel_manager_class(kernel_log),
                )
        except PapermillExecutionError as exc:
            if not (keep_failed and exc.ename == "ClaimFailed" and tmp_out.is_file()):
                raise
            strip_volatile(tmp_out)
            tmp_out.replace(output)
            raise ChecksFailed(exc.evalue) from None
        strip_volatile(tmp_out)
        tmp_out.replace(output)
    except Exception as exc:
        if (
            not isinstance(exc, (ParameterError, ChecksFailed))
            and kernel_log.is_file()
            and kernel_log.stat().st_size
        ):
            tail = kernel_log.read_text(errors="replace").strip().splitlines()[-20:]
            print(f"kernel log of {name} (last lines):\n" + "\n".join(tail), file=sys.stderr)
        raise
    finally:
        src_ipynb.unlink(missing_ok=True)
        tmp_out.unlink(missing_ok=True)
        kernel_log.unlink(missing_ok=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    if (
        argv is None
    ):  # a command line: under `python -m companion.warm` (make), the server runs it, warm
        from . import warm

        status = warm.request(sys.argv[1:])
        if status is not None:
            return status
    ap = argparse.ArgumentParser(description="Execute a fa-companion notebook with papermill.")
    ap.add_argument("source", type=Path, help="jupytext .py source under notebooks/")
    ap.add_argument("--output", type=Path, help="executed .ipynb to write")
    ap.add_argument(
        "--build-dir", type=Path, default=Path("build"), help="figures/ and results/ go here"
    )
    ap.add_argument("--quick", action="store_true", help="pass quick=True (tiny sizes)")
    ap.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a parameter; VALUE as in Python (true, 1e-3, 2e4, [1, 2])",
    )
    ap.add_argument(
        "--params",
        default="",
        metavar='"NAME=VALUE ..."',
        help="several parameters in one string, as make run's PARAMS (lists may contain spaces)",
    )
    ap.add_argument(
        "--keep-failed",
        action="store_true",
        help="keep the executed notebook when its checks fail (make run); exit 1 all the same",
    )
    ap.add_argument(
        "--list-params", action="store_true", help="list the notebook's parameters and exit"
    )
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
    name = args.source.stem
    try:
        params = parse_assignments([*split_assignments(args.params), *args.param])
        if args.quick:
            params["quick"] = "True"
        print(f"  start  {name}{' (quick)' if args.quick else ''}", flush=True)
        seconds = execute(args.source, output, params, args.build_dir, keep_failed=args.keep_failed)
    except ParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ChecksFailed as exc:
        print(
            f"  ✗ {name}: checks failed; the executed notebook shows them: {output}\n{exc}",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:  # papermill's execution error carries the failing cell
        print(f"FAILED {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"  done   {name:<24} {seconds:6.1f} s  -> {output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
