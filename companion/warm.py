"""Warm starts for the notebooks of one build: import the heavy libraries once, fork a process per notebook.

    python -m companion.warm -- make --jobs=2 figures        # what `make` runs

Every notebook of a build used to start two cold processes: the pipeline
(papermill, jupytext, nbformat) and its kernel (ipykernel, NumPy, Matplotlib,
seaborn, pandas, ``fa_core``), about 1.3 s of imports before its first cell.
Here one server process imports all of them once, then runs the given command
(make) with :data:`SOCKET_ENV` naming a Unix socket. Each ``python -m
companion.pipeline`` that make starts finds the socket and hands over its
arguments, working folder, environment and standard streams; the server forks
a child that runs the pipeline there, and the child forks the notebook's kernel
from itself (:class:`KernelSeed`), so neither imports anything again.

What a notebook computes is unchanged: the same code runs on the same modules,
imported with the same environment (make's), and the executed notebooks,
figures and results are byte-identical to cold runs (``tests/test_warm.py``).
Without the socket, or if it does not answer, the pipeline runs cold as before.
(In ``ps``, the forked pipelines and kernels show the server's command line.)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

SOCKET_ENV = "FA_COMPANION_WARM_SOCKET"
# What a kernel selects when nothing else is set (ipykernel's default); the server imports
# Matplotlib with it, so a forked kernel has the backend a cold one would choose.
INLINE = "module://matplotlib_inline.backend_inline"
# Imported once by the server. Two modules are left to the kernel, as they read its state when
# imported: Matplotlib's inline backend hooks into the running IPython shell, and ipykernel's
# application reads the kernel's environment (JPY_PARENT_PID) into its defaults.
PRELOAD = (
    "numpy",
    "pandas",
    "matplotlib",
    "matplotlib.pyplot",
    "seaborn",
    "fa_core",
    "IPython",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "papermill",
    "papermill.execute",
    "jupytext",
    "nbformat",
    "nbclient",
)
LEFT_TO_THE_KERNEL = ("matplotlib_inline.backend_inline", "ipykernel.kernelapp")


# Variables that may differ between the server's environment and a pipeline's: make's and the
# shell's own bookkeeping, and the socket. Any other difference means the imports may not be what
# a cold process would get (a library may read its settings on import), so that pipeline runs cold.
_MAY_DIFFER = (
    "MAKEFLAGS",
    "MAKELEVEL",
    "MFLAGS",
    "MAKE_TERMOUT",
    "MAKE_TERMERR",
    "_",
    "SHLVL",
    "PWD",
    "OLDPWD",
    SOCKET_ENV,
)


def preload() -> dict[str, str]:
    """Import :data:`PRELOAD` here, with the kernel's default Matplotlib backend; return the environment used."""
    import importlib

    os.environ.setdefault("MPLBACKEND", INLINE)
    for name in PRELOAD:
        importlib.import_module(name)
    early = [name for name in LEFT_TO_THE_KERNEL if name in sys.modules]
    if early:
        raise RuntimeError(
            f"the warm server imported {early}, which must be imported by each kernel"
        )
    return dict(os.environ)


def serve(command: list[str], path: str | None = None) -> int:
    """Serve warm pipelines behind a socket while ``command`` runs; return its exit status.

    ``command`` gets :data:`SOCKET_ENV` in its environment. Without a command,
    serve at ``path`` until this process's standard input closes (the tests'
    use). The imports happen when the first pipeline asks, so a command that
    runs no notebook (everything up to date) costs nothing extra.
    """
    folder = None if path else tempfile.mkdtemp(prefix="fa-warm-")
    path = path or os.path.join(folder, "socket")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    server.settimeout(0.05)
    children: set[int] = set()
    env = None  # the environment the imports saw, once they are done
    proc = subprocess.Popen(command, env={**os.environ, SOCKET_ENV: path}) if command else None
    stdin_open = _stdin_watcher() if proc is None else None
    try:
        while proc.poll() is None if proc else stdin_open():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                conn = None
            if conn is not None:
                env = env or preload()
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:  # the child: run one pipeline, never return into this loop
                    server.close()
                    _child(conn, env)
                conn.close()
                children.add(pid)
            _reap(children)
    except KeyboardInterrupt:
        pass  # Ctrl-C reached the whole process group: the command and the pipelines stop on their own
    finally:
        _stop(children)
        server.close()
        os.unlink(path)
        if folder:
            os.rmdir(folder)
    return proc.wait() if proc else 0


def _stdin_watcher():
    """A function that tells, without blocking, whether standard input is still open."""
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(sys.stdin, selectors.EVENT_READ)
    return lambda: not (sel.select(0) and not os.read(sys.stdin.fileno(), 4096))


def _reap(children: set[int]) -> None:
    """Remove from ``children`` the pipelines that have ended, collecting their exit statuses."""
    children -= {pid for pid in children if os.waitpid(pid, os.WNOHANG)[0]}


def _stop(children: set[int], grace: float = 10.0) -> None:
    """Let pipelines still running (after Ctrl-C) remove their temporary files and kernels, then stop the rest.

    A pipeline stopped by SIGTERM cleans up too (see :func:`_child`).
    """
    import time

    deadline = time.monotonic() + grace
    while children and time.monotonic() < deadline:
        _reap(children)
        time.sleep(0.05)
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    """A request: JSON (argv, cwd, env) and three file descriptors (the client's standard streams)."""
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    chunks = [data]
    while chunk := conn.recv(1 << 16):
        chunks.append(chunk)
    return json.loads(b"".join(chunks)), fds


def _redirect(pairs) -> None:
    """Make each standard stream ``target`` the open file ``fd``, for each (fd, target), and close ``fd``."""
    for fd, target in pairs:
        os.dup2(fd, target)
        os.close(fd)


def differences(server: dict[str, str], client: dict[str, str]) -> list[str]:
    """The variables whose values differ between the two environments, apart from :data:`_MAY_DIFFER`.

    The server's default Matplotlib backend (set by :func:`preload`) is no
    difference for a client that sets none: its kernel would choose the same.
    """
    keys = (server.keys() | client.keys()) - set(_MAY_DIFFER)
    return sorted(
        k
        for k in keys
        if server.get(k) != client.get(k)
        and not (k == "MPLBACKEND" and server[k] == INLINE and k not in client)
    )


def _child(conn: socket.socket, env: dict[str, str]) -> None:
    """Take one request: the client's streams, folder and environment; run the pipeline; send its status."""
    reply = 1
    try:
        signal.signal(
            signal.SIGTERM, lambda *_: sys.exit(143)
        )  # stopped: still run the pipeline's cleanup
        request, fds = _receive(conn)
        differ = differences(env, request["env"])
        if differ:
            reply = {"cold": differ}
            return
        _redirect(zip(fds, (0, 1, 2)))
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        from . import pipeline

        pipeline.kernel_seed = KernelSeed()
        try:
            reply = pipeline.main(request["argv"])
        except SystemExit as exc:  # argparse's usage errors
            reply = exc.code if isinstance(exc.code, int) else 2
    except BaseException as exc:  # noqa: BLE001 (reported to the client, which exits with it)
        print(f"warm pipeline failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            conn.sendall(json.dumps(reply).encode())
        finally:
            os._exit(0)


def request(argv: list[str]) -> int | None:
    """Run ``python -m companion.pipeline ARGV`` on the warm server, if there is one.

    Returns its exit status; None if there is no server, or if it asks this
    process to run cold (its environment differs from the one the server imported with).
    """
    path = os.environ.get(SOCKET_ENV)
    if not path:
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:
        return None  # a stale variable, or the server is gone: run cold
    with conn:
        sys.stdout.flush()
        sys.stderr.flush()
        message = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
        socket.send_fds(conn, [message], [0, 1, 2])
        conn.shutdown(socket.SHUT_WR)
        try:
            reply = b"".join(iter(lambda: conn.recv(4096), b""))
        except (
            KeyboardInterrupt
        ):  # Ctrl-C: the pipeline, in the same process group, stops and cleans up itself
            return 130
    if not reply:
        print(f"the warm pipeline for {argv} ended without a status", file=sys.stderr)
        return 1
    reply = json.loads(reply)
    return None if isinstance(reply, dict) else reply


class KernelSeed:
    """A process forked before the pipeline starts, which becomes the notebook's kernel when asked.

    It is forked while this process has no event loop, thread or ZeroMQ context,
    in its own session as jupyter_client starts kernels. It waits on a pipe for
    the kernel's command line, environment and folder, then runs ipykernel's
    application as ``python -m ipykernel_launcher`` would. If the pipe closes
    unused (the notebook failed before its kernel started), it exits.
    """

    def __init__(self):
        read, self._write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the seed: never returns into the pipeline's code
            try:
                os.closerange(
                    3, read
                )  # as Popen's close_fds: the kernel keeps only its pipe and standard streams
                os.closerange(read + 1, os.sysconf("SC_OPEN_MAX"))
                os.setsid()
                with os.fdopen(read, "rb") as pipe:
                    data = pipe.read()
                if data:
                    self._become_kernel(json.loads(data))
            except BaseException:  # noqa: BLE001 (to the kernel log, which the pipeline shows when it fails)
                import traceback

                traceback.print_exc()
                os._exit(1)
            os._exit(0)
        os.close(read)

    def launch(self, cmd: list[str], env: dict, cwd: str, log: str | None) -> ForkedProcess:
        """Start the kernel ``cmd`` (``python -m ipykernel_launcher -f FILE``), its stderr appended to ``log``.

        Returns a Popen-like handle on it.
        """
        with os.fdopen(self._write, "wb") as pipe:
            pipe.write(
                json.dumps({"argv": cmd[3:], "env": env, "cwd": str(cwd), "log": log}).encode()
            )
        return ForkedProcess(self.pid)

    @staticmethod
    def serves(cmd: list[str]) -> bool:
        """Whether ``cmd`` is the command line a seed can become: ``python -m ipykernel_launcher ...``."""
        return cmd[1:3] == ["-m", "ipykernel_launcher"]

    @staticmethod
    def _become_kernel(request: dict) -> None:
        streams = [(os.open(os.devnull, os.O_RDWR), 0)]
        if request["log"] is not None:
            streams.append(
                (os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644), 2)
            )
        _redirect(streams)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # As `python -m ipykernel_launcher`: no script folder on sys.path (IPython puts the working folder first).
        if sys.path and sys.path[0] in ("", str(Path(__file__).resolve().parents[1])):
            del sys.path[0]
        sys.argv = ["ipykernel_launcher", *request["argv"]]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance(argv=request["argv"])


class ForkedProcess:
    """The parts of ``subprocess.Popen`` that jupyter_client uses, for a forked kernel."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(
        description="Run a command with warm notebook pipelines (see the module's doc)."
    )
    ap.add_argument(
        "--socket", help="serve at this path until standard input closes (instead of a command)"
    )
    ap.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help="-- COMMAND [ARG ...], e.g. -- make --jobs=2 executed",
    )
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if bool(command) == bool(args.socket):
        ap.error("give either a command (after --) or --socket PATH")
    return serve(command, args.socket)


if __name__ == "__main__":
    sys.exit(main())
