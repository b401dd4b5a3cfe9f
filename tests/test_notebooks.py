"""Every notebook, executed through the real pipeline with quick=True."""

import base64
import json
import re
import shutil
from pathlib import Path

import pytest

from companion import pipeline

ROOT = Path(__file__).resolve().parents[1]
from conftest import EXPLORER, SOURCES, build_files, run_pipeline  # noqa: E402

IDS = [p.stem for p in SOURCES]


def parameter_cell_names(source: Path) -> list[str]:
    text = source.read_text()
    cell = text.split('# %% tags=["parameters"]', 1)[1].split("# %%", 1)[0]
    return re.findall(r"^(\w+)\s*=", cell, re.M)


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_every_parameter_is_declared_with_help(source, tmp_path):
    """papermill silently drops lines it cannot parse (e.g. '=' in a comment)."""
    declared = pipeline.declared_parameters(pipeline.to_ipynb(source, tmp_path / "nb.ipynb"))
    assert list(declared) == parameter_cell_names(source)
    for p in declared.values():
        assert p["help"].strip(), f"{p['name']} has no '# comment'"
    assert {"quick", "seed", "build_dir"} <= set(declared)


@pytest.mark.notebook
@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_notebook_runs_quick_and_its_claims_hold(source, quick_build):
    build, failures = quick_build
    assert source.stem not in failures, failures.get(source.stem)
    out = build / "notebooks" / f"{source.stem}.ipynb"
    assert out.is_file()
    results = json.loads((build / "results" / f"{source.stem}.json").read_text())
    assert results["all_hold"] and results["claims"], results
    assert results["params"]["quick"] is True
    figures = sorted((build / "figures" / source.stem).iterdir())
    assert figures and all(f.suffix == ".png" for f in figures)  # a quick build writes no PDF
    assert all(f.stat().st_size > 5000 for f in figures)
    text = out.read_text()
    assert (
        '"start_time"' not in text and '"duration"' not in text
    )  # stripped for byte-identical rebuilds
    nb = json.loads(text)
    shown = [
        base64.b64decode(o["data"]["image/png"])
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for o in c["outputs"]
        if "image/png" in o.get("data", {})
    ]
    assert sorted(shown) == sorted(
        f.read_bytes() for f in figures
    )  # the notebook shows each saved figure, once
    stderr = [
        o
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for o in c["outputs"]
        if o.get("name") == "stderr"
    ]
    assert not stderr, (
        f"warnings break byte-identical rebuilds (they name the kernel's PID): {stderr[:1]}"
    )


def test_unknown_and_mistyped_parameters_are_rejected(tmp_path):
    source = ROOT / "notebooks" / "convergence.py"
    out = tmp_path / "x.ipynb"
    with pytest.raises(pipeline.ParameterError, match=r"unknown parameter\(s\) \['etta'\]"):
        pipeline.execute(source, out, {"etta": 0.1}, tmp_path)
    with pytest.raises(pipeline.ParameterError, match="'quick' must be bool"):
        pipeline.execute(source, out, pipeline.parse_assignments(["quick='false'"]), tmp_path)
    assert not out.exists()


def test_cli_values_are_typed_like_python_literals():
    declared = {
        "eta": {"inferred_type_name": "float", "default": "0.1"},
        "steps": {"inferred_type_name": "int", "default": "1000"},
        "r_list": {"inferred_type_name": "None", "default": "[1, 2]"},
        "quick": {"inferred_type_name": "bool", "default": "False"},
        "name": {"inferred_type_name": "str", "default": "'x'"},
    }
    raw = pipeline.parse_assignments(
        pipeline.split_assignments("eta=1e-3 steps=2e4 r_list=[1, 2, 4] quick=false name=abc")
    )
    assert raw == {
        "eta": "1e-3",
        "steps": "2e4",
        "r_list": "[1, 2, 4]",
        "quick": "false",
        "name": "abc",
    }
    typed = pipeline.check_parameters(raw, declared, "nb")
    assert typed == {
        "eta": 0.001,
        "steps": 20000,
        "r_list": [1, 2, 4],
        "quick": False,
        "name": "abc",
    }
    assert type(typed["steps"]) is int and type(typed["eta"]) is float
    assert pipeline.check_parameters({"eta": "1", "steps": "30"}, declared, "nb") == {
        "eta": 1.0,
        "steps": 30,
    }
    with pytest.raises(
        pipeline.ParameterError,
        match=r"parameter 'steps' must be int \(default 1000, e.g. steps=2000\); got '2\.5e4\.5'",
    ):
        pipeline.check_parameters({"steps": "2.5e4.5"}, declared, "nb")
    with pytest.raises(pipeline.ParameterError, match=r"'steps' must be int .*got '2\.5'"):
        pipeline.check_parameters({"steps": "2.5"}, declared, "nb")
    with pytest.raises(pipeline.ParameterError, match="build_dir is set by the pipeline"):
        pipeline.check_parameters(
            {"build_dir": "x"},
            {**declared, "build_dir": {"inferred_type_name": "str", "default": "'.'"}},
            "nb",
        )
    with pytest.raises(pipeline.ParameterError, match="name=value"):
        pipeline.parse_assignments(["eta"])


def test_a_run_whose_checks_fail_keeps_its_notebook(tmp_path):
    """make run: the ✗ stays visible in the executed notebook; the full build removes it instead."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        '# %% tags=["parameters"]\nquick = False  # q\nseed = 0  # s\nbuild_dir = "."  # b\n\n'
        '# %%\nfrom companion.claims import ClaimFailed\nprint("the evidence")\n'
        'raise ClaimFailed("1 claim(s) failed")\n'
    )
    out = tmp_path / "bad.ipynb"
    with pytest.raises(pipeline.ChecksFailed, match="1 claim"):
        pipeline.execute(bad, out, {}, tmp_path, keep_failed=True)
    assert out.is_file() and "the evidence" in out.read_text() and "ClaimFailed" in out.read_text()
    with pytest.raises(Exception, match="ClaimFailed"):
        pipeline.execute(bad, out, {}, tmp_path)
    assert not out.exists()


def test_the_pipeline_prints_a_start_and_an_end_line_and_no_kernel_warning(tmp_path):
    ok = tmp_path / "ok.py"
    ok.write_text(
        '# %% tags=["parameters"]\nquick = False  # q\nseed = 0  # s\nbuild_dir = "."  # b\n\n# %%\nx = 1\n'
    )
    proc = run_pipeline(ok, "--build-dir", tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert (
        lines[0].split() == ["start", "ok"]
        and lines[-1].split()[:2] == ["done", "ok"]
        and len(lines) == 2
    )
    assert "WARNING" not in proc.stderr and "without encryption" not in proc.stderr, proc.stderr


def test_the_kernel_handshake_drains_iopub_without_waiting():
    """After IOPub's first message, the start-up handshake only reads what has already arrived (timeout 0)."""
    import asyncio

    async def handshake():
        km = pipeline._kernel_manager_class()(kernel_name="python3")
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        timeouts, get_msg = [], kc.iopub_channel.get_msg

        async def recording(timeout=None):
            timeouts.append(timeout)
            return await get_msg(timeout=timeout)

        kc.iopub_channel.get_msg = recording
        try:
            await kc.wait_for_ready(timeout=60)
            restored = kc.iopub_channel.get_msg is recording
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
        return timeouts, restored

    timeouts, restored = asyncio.run(handshake())
    assert timeouts and timeouts[-1] == 0 and timeouts.count(0.2) >= 1, timeouts
    assert restored


def test_the_kernel_channels_wait_in_polls_of_at_most_a_tenth_of_a_second():
    """A missed wake-up costs at most 0.1 s: every wait is a series of short polls, until the message or the timeout."""
    import asyncio
    import time
    from queue import Empty

    import zmq
    import zmq.asyncio
    from jupyter_client.channels import AsyncZMQSocketChannel
    from jupyter_client.session import Session

    channel_class = (
        pipeline._kernel_manager_class()(kernel_name="python3").client().shell_channel_class
    )
    polls = []
    plain = AsyncZMQSocketChannel.get_msg

    async def recording(self, timeout=None):
        polls.append(timeout)
        return await plain(self, timeout)

    async def scenario():
        ctx, session = zmq.asyncio.Context(), Session()
        a, b = ctx.socket(zmq.PAIR), zmq.Context.shadow(ctx.underlying).socket(zmq.PAIR)
        a.bind("inproc://polls")
        b.connect("inproc://polls")
        channel = channel_class(a, session)
        t0 = time.monotonic()
        try:
            await channel.get_msg(timeout=0.35)
            raise AssertionError("no message was sent")
        except Empty:
            waited = time.monotonic() - t0
        asyncio.get_running_loop().call_later(0.3, lambda: session.send(b, "ping", {"n": 1}))
        msg = await channel.get_msg(timeout=None)
        a.close(linger=0), b.close(linger=0), ctx.term()
        return waited, msg

    AsyncZMQSocketChannel.get_msg = recording
    try:
        waited, msg = asyncio.run(scenario())
    finally:
        AsyncZMQSocketChannel.get_msg = plain
    assert 0.35 <= waited < 1.0 and msg["content"] == {"n": 1}
    assert len(polls) >= 6 and max(polls) <= 0.1, polls


def test_quick_sizes_never_override_a_value_you_set(monkeypatch, tmp_path):
    from companion import EXPLICIT_ENV
    from companion.notebook import start

    monkeypatch.setenv(EXPLICIT_ENV, "steps")
    ns = {"steps": 5, "n": 100, "quick": True, "build_dir": str(tmp_path)}
    nb = start("demo", ns, quick=dict(steps=1, n=10))
    assert nb.params == {"steps": 5, "n": 10, "quick": True}


def test_saving_an_unedited_notebook_in_jupyter_changes_no_byte(tmp_path):
    """Round trip through jupytext's contents manager, as JupyterLab saves: the sources stay byte-identical."""
    import asyncio

    from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
    from jupytext import build_async_jupytext_contents_manager_class

    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    shutil.copy(ROOT / "jupytext.toml", tmp_path / "jupytext.toml")
    cm = build_async_jupytext_contents_manager_class(AsyncLargeFileManager)(root_dir=str(tmp_path))

    async def save_all():
        for source in [*SOURCES, EXPLORER]:
            model = await cm.get(f"notebooks/{source.name}", content=True, type="notebook")
            await cm.save(model, f"notebooks/{source.name}")

    asyncio.run(save_all())
    changed = [
        s.name
        for s in [*SOURCES, EXPLORER]
        if (tmp_path / "notebooks" / s.name).read_bytes() != s.read_bytes()
    ]
    assert not changed, f"saving in Jupyter rewrites {changed}: see jupytext.toml"


def test_failed_notebook_leaves_no_output(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        '# %% tags=["parameters"]\nquick = False  # q\nseed = 0  # s\nbuild_dir = "."  # b\n\n# %%\nraise RuntimeError("claim failed")\n'
    )
    out = tmp_path / "bad.ipynb"
    with pytest.raises(Exception, match="claim failed"):
        pipeline.execute(bad, out, {}, tmp_path)
    assert not out.exists() and not list(tmp_path.glob(".bad*"))


@pytest.mark.notebook
def test_rebuilds_are_byte_identical(tmp_path, warm_env):
    """Same parameters, two clean runs as make runs them (warm): identical notebook, figures and results."""
    source = ROOT / "notebooks" / "separation.py"
    digests = []
    build = tmp_path / "build"  # the same folder (build_dir is a parameter), emptied between runs
    for _ in range(2):
        shutil.rmtree(build, ignore_errors=True)
        proc = run_pipeline(source, "--quick", "--build-dir", build, env=warm_env)
        assert proc.returncode == 0, proc.stderr
        digests.append(build_files(build))
    assert digests[0].keys() == digests[1].keys() and len(digests[0]) > 4
    different = [name for name in digests[0] if digests[0][name] != digests[1][name]]
    assert not different, different


def quick_sizes(source: Path) -> dict:
    """The literal ``quick=dict(...)`` a notebook passes to companion.notebook.start."""
    import ast

    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "start":
            quick = next(kw.value for kw in node.keywords if kw.arg == "quick")
            return {kw.arg: ast.literal_eval(kw.value) for kw in quick.keywords}
    raise AssertionError(f"{source.stem} never calls start(...)")


@pytest.mark.notebook
@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_results_record_the_parameters_actually_used(source, quick_build):
    """A quick run records its quick sizes, not the full-size defaults it overrode."""
    build, _ = quick_build
    params = json.loads((build / "results" / f"{source.stem}.json").read_text())["params"]
    sizes = quick_sizes(source)
    assert sizes and {k: params[k] for k in sizes} == sizes
    assert set(params) == set(parameter_cell_names(source)) - {"build_dir"}


def test_a_full_build_saves_png_and_pdf_and_shows_nothing_outside_a_notebook(tmp_path, capsys):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from companion import figures

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    paths = figures.save(fig, tmp_path / "f", show=True)
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(
        p.stat().st_size > 1000 for p in paths
    )
    assert (
        not plt.fignum_exists(fig.number) and capsys.readouterr().out == ""
    )  # closed; no display outside IPython
    assert [p.suffix for p in figures.save(plt.figure(), tmp_path / "g", pdf=False)] == [".png"]
