"""The promises of the notebook pipeline and of `make run`, `make params`, `make lab` and `make QUICK=1`.

Each test runs the real pipeline (and, where make is promised, the real make) on a tiny notebook.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import EXPLORER, ROOT, SOURCES, abort_for_stacks, run_pipeline, with_faulthandler

from companion import pipeline

TINY = """# %% tags=["parameters"]
text = "hello"  # a string, printed
steps = 10  # training steps
fail = False  # make the check fail
crash = False  # raise before any check
pause = 0.0  # seconds to wait in the middle
quick = False  # a smoke test
seed = 0  # master seed
build_dir = "../build/interactive"  # figures/ and results/ go here

# %%
import os
import time
from pathlib import Path

from companion.notebook import start

nb = start("tiny", globals())
print(f"text={text!r} steps={steps!r} quick={quick!r}")

# %%
Path(nb.figures / "half.png").write_bytes(b"a figure")
Path(build_dir, "kernel.pid").write_text(str(os.getpid()))
time.sleep(pause)
if crash:
    raise ValueError("eta must be > 0")

# %%
nb.claims.check("holds", 1.0 if fail else 0.0, "<", 0.5, kind="consistency")
nb.finish()
"""


def tiny_notebook(folder: Path, quick: str = "steps: 3\n") -> Path:
    """notebooks/tiny.py and its quick sizes in ``folder``."""
    source = folder / "notebooks" / "tiny.py"
    (source.parent / "quick").mkdir(parents=True, exist_ok=True)
    source.write_text(TINY)
    (source.parent / "quick" / "tiny.yaml").write_text(quick)
    return source


def printed(executed: Path) -> str:
    """Everything the executed notebook's cells printed."""
    nb = json.loads(executed.read_text())
    return "".join(
        "".join(o["text"]) for c in nb["cells"] for o in c.get("outputs", []) if "text" in o
    )


@pytest.fixture
def repo(tmp_path):
    """A repository with only the tiny notebook, sharing the real one's tooling, science and .venv."""
    if not (ROOT / ".venv" / ".installed").is_file():
        pytest.skip("needs the .venv that make builds")
    dst = tmp_path / "repo"
    dst.mkdir()
    for item in ("Makefile", "pyproject.toml", "fa_core", "companion", "requirements", ".venv"):
        (dst / item).symlink_to(ROOT / item)
    tiny_notebook(dst)
    return dst


def make_env() -> dict:
    """This process's environment without the make flags of a make that may run the tests."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL")}


def make(repo: Path, *args, timeout: float = 300, **popen) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=repo,
        env=make_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        **popen,
    )


def files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# -- parameters -------------------------------------------------------------------------


def test_quick_sizes_apply_and_the_values_you_set_win(tmp_path):
    source = tiny_notebook(tmp_path, quick="steps: 3\ntext: small\n")
    build = tmp_path / "build"
    proc = run_pipeline(source, "--quick", "-p", "text='mine'", "--build-dir", build)
    assert proc.returncode == 0, proc.stderr
    out = build / "notebooks" / "tiny.ipynb"
    assert "text='mine' steps=3 quick=True" in printed(out)
    params = json.loads((build / "results" / "tiny.json").read_text())["params"]
    assert params["steps"] == 3 and params["text"] == "mine" and params["quick"] is True
    proc = run_pipeline(source, "--quick", "--params", "steps=2e1", "--build-dir", build)
    assert proc.returncode == 0 and "text='small' steps=20 quick=True" in printed(out)


def test_a_notebook_without_quick_sizes_is_refused_quick(tmp_path):
    source = tiny_notebook(tmp_path)
    (source.parent / "quick" / "tiny.yaml").unlink()
    proc = run_pipeline(source, "--quick", "--build-dir", tmp_path / "build")
    assert proc.returncode == 2 and "tiny: no quick sizes" in proc.stderr, proc.stderr


def test_the_readme_example_parses(tmp_path):
    source = ROOT / "notebooks" / "separation.py"
    declared = pipeline.declared_parameters(pipeline.to_ipynb(source, tmp_path / "nb.ipynb"))
    raw = pipeline.parse_assignments(pipeline.split_assignments("eta=1e-3 steps=2e4"))
    assert pipeline.check_parameters(raw, declared, "separation") == {"eta": 1e-3, "steps": 20000}


# -- reproducible output ------------------------------------------------------------------


def test_a_print_split_by_timing_gives_one_output(tmp_path):
    """Two pieces of one line, flushed apart, are one stream output: the file does not depend on timing."""
    source = tmp_path / "split.py"
    source.write_text(
        '# %% tags=["parameters"]\nquick = False  # q\n\n# %%\nimport time\n'
        'print("a", end="", flush=True)\ntime.sleep(0.5)\nprint("b", flush=True)\n'
        'time.sleep(0.5)\nprint("c")\n'
    )
    out = tmp_path / "split.ipynb"
    pipeline.execute(source, out, {}, tmp_path)
    outputs = json.loads(out.read_text())["cells"][-1]["outputs"]
    assert [(o["name"], "".join(o["text"])) for o in outputs] == [("stdout", "ab\nc\n")]


# -- failures -----------------------------------------------------------------------------


def test_a_crash_prints_one_line_and_keeps_the_traceback_in_the_notebook(tmp_path):
    source = tiny_notebook(tmp_path)
    build = tmp_path / "build"
    proc = run_pipeline(source, "--run", "--build-dir", build, "-p", "crash=true")
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if "Error" in line]
    assert len(errors) == 1 and "FAILED tiny: ValueError: eta must be > 0" in errors[0], proc.stderr
    kept = build / "notebooks" / "tiny.ipynb"
    assert str(kept) in errors[0] and "Traceback" not in proc.stderr
    assert '"ename": "ValueError"' in kept.read_text() and "traceback" in kept.read_text()
    assert files(build) == ["kernel.pid", "notebooks/tiny.ipynb"]  # no partial figures or results


def test_failed_checks_after_changing_steps_say_the_run_may_not_have_converged(tmp_path):
    source = tiny_notebook(tmp_path)
    build = tmp_path / "build"
    proc = run_pipeline(source, "--run", "--build-dir", build, "--params", "fail=true steps=5")
    assert proc.returncode == 1
    assert "holds: 1 is not < 0.5" in proc.stderr and "may not have converged" in proc.stderr
    assert "more steps or a larger eta" in proc.stderr
    assert (build / "results" / "tiny.json").is_file()  # the ✗ stays visible
    proc = run_pipeline(source, "--run", "--build-dir", build, "--params", "fail=true")
    assert proc.returncode == 1 and "converged" not in proc.stderr


def test_make_run_shows_each_cell_and_the_notebooks_output_as_it_runs(tmp_path):
    source = tiny_notebook(tmp_path)
    proc = run_pipeline(source, "--run", "--build-dir", tmp_path / "build")
    assert proc.returncode == 0, proc.stderr
    assert re.findall(r"^  cell (\d+)$", proc.stderr, re.M) == ["1", "2", "3", "4", "5"], (
        proc.stderr
    )
    assert "text='hello' steps=10 quick=False" in proc.stderr


def test_the_temporary_files_of_a_killed_run_are_removed_by_the_next(tmp_path):
    source = tiny_notebook(tmp_path)
    out = tmp_path / "build" / "notebooks" / "tiny.ipynb"
    out.parent.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    abandoned = [out.with_name(f".tiny.ipynb.{dead.pid}{s}") for s in (".ipynb", ".src.ipynb")]
    alive = out.with_name(f".tiny.ipynb.{os.getppid()}.ipynb")  # a running process's
    for p in (*abandoned, alive):
        p.write_text("{}")
    pipeline.execute(source, out, {}, tmp_path / "build")
    assert out.is_file() and not any(p.exists() for p in abandoned) and alive.exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_an_interrupted_run_leaves_nothing_that_looks_finished(tmp_path, sig):
    """Killed mid-cell: no executed notebook; the next run cleans up and finishes."""
    source = tiny_notebook(tmp_path)
    build = tmp_path / "build"
    out = build / "notebooks" / "tiny.ipynb"
    proc = subprocess.Popen(
        [*pipeline_command(), source, "--build-dir", build, "-p", "pause=120"],
        cwd=ROOT,
        env=with_faulthandler(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    kernel_pid = build / "kernel.pid"
    try:
        deadline = time.monotonic() + 120
        while not kernel_pid.is_file() or not kernel_pid.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.1)
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            _, stacks = abort_for_stacks(proc)
            raise AssertionError(f"no exit 60 s after {sig.name}:\n{stacks[-8000:]}") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stop_kernel(int(kernel_pid.read_text()))
    assert not out.exists() and not (build / "results" / "tiny.json").exists()
    if sig == signal.SIGINT:  # the pipeline cleans up after itself
        assert files(build) == ["kernel.pid"], files(build)
        assert "Traceback" not in proc.stderr.read(), "Ctrl-C is not an error to explain"
    proc.stderr.close()
    pipeline.execute(source, out, {}, build)
    assert files(build) == [
        "figures/tiny/half.png",
        "kernel.pid",
        "notebooks/tiny.ipynb",
        "results/tiny.json",
    ]


def pipeline_command() -> list[str]:
    return [str(ROOT / ".venv" / "bin" / "python"), "-m", "companion.pipeline"]


def stop_kernel(pid: int) -> None:
    """Stop a kernel a test's pipeline left (its parent was killed), if it is still running."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


# -- make ---------------------------------------------------------------------------------


SHELL_PAYLOADS = {
    "backticks": 'text="`touch pwned`"',
    "dollar-paren": 'text="$(touch pwned)"',
    "single quote": 'text="it\'s"; touch pwned',
    "double quote": 'text="a" "; touch pwned; echo "',
    "semicolon": "text=1;touch pwned",
}


@pytest.mark.parametrize("payload", SHELL_PAYLOADS.values(), ids=SHELL_PAYLOADS.keys())
def test_make_run_never_lets_the_shell_interpret_params(repo, payload):
    proc = make(repo, "run", "NB=tiny", f"PARAMS={payload}")
    assert not list(repo.rglob("pwned")) and not Path("pwned").exists()
    if proc.returncode == 0:  # a parameter value, printed as the notebook received it
        assert "text=" in printed(repo / "build" / "run" / "tiny" / "notebooks" / "tiny.ipynb")
    else:
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "name=value" in errors[0], proc.stderr


@pytest.mark.parametrize("nb", ["tiny; touch pwned", "`touch pwned`", "$$(touch pwned)", "x' 'y"])
def test_make_run_and_params_never_let_the_shell_interpret_nb(repo, nb):
    for target in ("run", "params"):
        proc = make(repo, target, f"NB={nb}")
        assert proc.returncode == 2 and "no notebook" in proc.stderr and "tiny" in proc.stderr
    assert not list(repo.rglob("pwned"))


def test_make_run_passes_strings_with_spaces_and_exits_as_the_readme_says(repo):
    proc = make(repo, "run", "NB=tiny", 'PARAMS=text="my dir" steps=2e1')
    assert proc.returncode == 0, proc.stderr
    executed = repo / "build" / "run" / "tiny" / "notebooks" / "tiny.ipynb"
    assert "text='my dir' steps=20" in printed(executed)
    assert make(repo, "run", "NB=tiny", "PARAMS=fail=true").returncode == 2
    assert executed.is_file()  # with its ✗ visible
    assert make(repo, "run", "NB=tiny", "PARAMS=etta=1").returncode == 2
    assert make(repo, "run").returncode == 2
    listing = make(repo, "params", "NB=tiny")
    assert listing.returncode == 0 and re.search(r"text = \"hello\" +# a string", listing.stdout)


def test_two_quick_builds_in_one_clone_wait_for_each_other(repo):
    env = make_env()
    cmd = ["make", "--no-print-directory", "QUICK=1", "figures"]
    runs = [
        subprocess.Popen(cmd, cwd=repo, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert "".join(outputs).count("start  tiny") == 1, outputs  # the second found it up to date
    assert (repo / "build" / "quick" / "notebooks" / "tiny.ipynb").is_file()


def test_make_help_lists_every_target():
    text = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*?)(?<!\\)\n", text, re.M | re.S).group(1)
    targets = phony.replace("\\", " ").split()
    listed = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    missing = [t for t in targets if t != "all" and not re.search(rf"\bmake {t}\b", listed)]
    assert not missing and re.search(r"^make +build", listed, re.M), missing


# -- make lab -----------------------------------------------------------------------------


def test_saving_an_unedited_notebook_in_make_lab_changes_no_byte(repo):
    """`make lab`'s own server (root folder, settings, jupytext), through its contents API."""
    shutil.rmtree(repo / "notebooks")
    shutil.copytree(ROOT / "notebooks", repo / "notebooks")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "fa-companion-test"
    lab_args = f"--no-browser --port={port} --IdentityProvider.token={token}"
    env = make_env()
    server = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_ARGS={lab_args}"],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )

    def api(path, method="GET", body=None):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/contents/{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            try:
                api("")
                break
            except OSError:
                assert time.monotonic() < deadline, "make lab did not start"
                time.sleep(0.5)
        names = [m["name"] for m in api("")["content"] if m["name"].endswith(".py")]
        assert sorted(names) == sorted(p.name for p in [*SOURCES, EXPLORER])
        for name in names:
            model = api(f"{name}?type=notebook&content=1")
            assert model["type"] == "notebook" and model["content"]["cells"]
            api(name, "PUT", {"type": "notebook", "format": "json", "content": model["content"]})
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        server.stderr.close()
    changed = [
        name
        for name in names
        if (repo / "notebooks" / name).read_bytes() != (ROOT / "notebooks" / name).read_bytes()
    ]
    assert not changed, f"saving in make lab rewrites {changed}: see notebooks/jupytext.toml"


@pytest.mark.parametrize("uid", ["0", "1000"])
def test_make_lab_allows_root_only_as_root(tmp_path, uid):
    """Jupyter refuses to run as root without --allow-root; a normal user never gets it."""
    if not (ROOT / ".venv" / ".installed").is_file():
        pytest.skip("needs the .venv that make builds")
    fake = tmp_path / "id"
    fake.write_text(f"#!/bin/sh\necho {uid}\n")
    fake.chmod(0o755)
    env = make_env()
    env["PATH"] = f"{tmp_path}:{env['PATH']}"
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "lab", "LAB_ARGS=--no-browser --port=9"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "jupyter lab notebooks/" in dry and "$LAB_ARGS" in dry
    assert ("--allow-root" in dry) == (uid == "0")
