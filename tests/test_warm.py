"""companion.warm: pipelines forked from one process that imported the libraries once, as `make` runs them."""

import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, build_files, run_pipeline

from companion import warm
from companion.warm import INLINE, SOCKET_ENV

# A kernel that reports whether it was forked warm: a cold kernel has never imported papermill.
PROBE = (
    '# %% tags=["parameters"]\nquick = False  # q\nseed = 0  # s\nbuild_dir = "."  # b\n\n'
    '# %%\nimport sys\nprint("papermill in the kernel:", "papermill" in sys.modules)\n'
)


def cold(env):
    return {k: v for k, v in env.items() if k != SOCKET_ENV}


@pytest.fixture
def env(warm_env):
    return warm_env


@pytest.mark.notebook
def test_a_warm_notebook_is_byte_identical_to_a_cold_one(tmp_path, env):
    source = ROOT / "notebooks" / "beyond_depth.py"
    outputs = {}
    for mode, e in (("warm", env), ("cold", cold(env))):
        build = (
            tmp_path / "build"
        )  # one folder for both (the notebook records build_dir), emptied between
        shutil.rmtree(build, ignore_errors=True)
        proc = run_pipeline(source, "--quick", "--build-dir", build, env=e)
        assert proc.returncode == 0, proc.stderr
        outputs[mode] = build_files(build)
    assert outputs["warm"].keys() == outputs["cold"].keys() and len(outputs["warm"]) >= 3
    assert [
        name for name in outputs["warm"] if outputs["warm"][name] != outputs["cold"][name]
    ] == []


def test_a_warm_pipeline_forks_its_kernel_and_reports_like_a_cold_one(tmp_path, env):
    probe, bad = tmp_path / "probe.py", tmp_path / "bad.py"
    probe.write_text(PROBE)
    bad.write_text(PROBE.replace("import sys", 'raise RuntimeError("deliberate")'))
    runs = {
        name: run_pipeline(src, "--build-dir", tmp_path / name, env=e)
        for name, src, e in (
            ("warm", probe, env),
            ("cold", probe, cold(env)),
            ("bad", bad, env),
            ("tqdm_differs", probe, {**env, "TQDM_DISABLE": "0"}),
        )
    }
    text = {name: (tmp_path / name / "notebooks" / "probe.ipynb") for name in runs}
    assert runs["warm"].returncode == 0 and runs["warm"].stdout.split()[:2] == ["start", "probe"], (
        runs["warm"]
    )
    assert "papermill in the kernel: True" in text["warm"].read_text()
    assert "papermill in the kernel: False" in text["cold"].read_text()
    # an environment unlike the server's (a library may read it on import) runs cold, and still succeeds
    assert (
        runs["tqdm_differs"].returncode == 0
        and "papermill in the kernel: False" in text["tqdm_differs"].read_text()
    )
    # a failing notebook: its status and error reach the client, and nothing is left behind
    assert (
        runs["bad"].returncode == 1
        and "FAILED bad" in runs["bad"].stderr
        and "deliberate" in runs["bad"].stderr
    )
    assert not (tmp_path / "bad" / "notebooks" / "bad.ipynb").exists()


def test_a_usage_error_and_a_missing_server_behave_as_without_warm(tmp_path, env):
    usage = run_pipeline("no_such.py", env=env)
    assert usage.returncode == 2 and "no such notebook source" in usage.stderr
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    gone = run_pipeline(
        probe, "--build-dir", tmp_path, env={**env, SOCKET_ENV: str(tmp_path / "gone")}
    )
    assert gone.returncode == 0, gone.stderr  # no server answers: the pipeline ran cold


def test_only_make_bookkeeping_and_the_default_backend_may_differ():
    server = {
        "PATH": "/bin",
        "MPLBACKEND": INLINE,
        "MAKEFLAGS": "-j1",
        "MAKELEVEL": "1",
        "TQDM_DISABLE": "1",
    }
    assert (
        warm.differences(
            server,
            {
                "PATH": "/bin",
                "MAKEFLAGS": " -j2",
                "MAKELEVEL": "3",
                "TQDM_DISABLE": "1",
                SOCKET_ENV: "/tmp/s",
            },
        )
        == []
    )
    assert warm.differences(server, {"PATH": "/bin", "MAKELEVEL": "3"}) == ["TQDM_DISABLE"]
    assert warm.differences(
        server, {"PATH": "/bin", "TQDM_DISABLE": "1", "MPLBACKEND": "agg", "X": "1"}
    ) == ["MPLBACKEND", "X"]


def test_the_server_never_imports_what_each_kernel_must_import_itself():
    code = (
        "from companion import warm\nwarm.PRELOAD += ('ipykernel.kernelapp',)\n"
        "try:\n    warm.preload()\nexcept RuntimeError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    ).stdout
    assert "['ipykernel.kernelapp'] which must be imported by each kernel" in out.replace(
        ",", ""
    ), out


def test_a_stopped_warm_pipeline_removes_its_files_and_its_kernel(tmp_path, env):
    """SIGTERM (the server stopping a pipeline after Ctrl-C) still runs the pipeline's cleanup."""
    import os
    import signal
    import time

    pids = tmp_path / "pids"
    slow = tmp_path / "slow.py"
    slow.write_text(
        PROBE.replace(
            "import sys",
            f"import os, time\nopen({str(pids)!r}, 'w').write("
            "f'{os.getppid()} {os.getpid()}')\ntime.sleep(120)",
        )
    )
    out = tmp_path / "out"
    client = subprocess.Popen(
        [sys.executable, "-m", "companion.pipeline", str(slow), "--build-dir", str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (pids.exists() and pids.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    pipeline_pid, kernel_pid = map(int, pids.read_text().split())
    os.kill(pipeline_pid, signal.SIGTERM)
    assert client.wait(timeout=60) == 143  # as a process stopped by SIGTERM
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):
        os.kill(kernel_pid, 0)
    assert sorted(p.name for p in (out / "notebooks").iterdir()) == []
