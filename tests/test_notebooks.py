"""Every notebook, executed through the real pipeline with quick=True."""

import base64
import json
import re
import shutil
from pathlib import Path

import pytest

from companion import pipeline
from companion.notebook import quick_parameters

ROOT = Path(__file__).resolve().parents[1]
from conftest import EXPLORER, SOURCES, build_files, run_pipeline  # noqa: E402

IDS = [p.stem for p in SOURCES]


def parameter_cell_names(source: Path) -> list[str]:
    text = source.read_text()
    cell = text.split('# %% tags=["parameters"]', 1)[1].split("# %%", 1)[0]
    return re.findall(r"^(\w+)\s*=", cell, re.M)


@pytest.mark.parametrize("source", [*SOURCES, EXPLORER], ids=[*IDS, EXPLORER.stem])
def test_every_parameter_is_declared_with_help(source, tmp_path):
    """papermill drops lines it cannot parse (e.g. '=' in a comment): every one is listed and settable."""
    declared = pipeline.declared_parameters(pipeline.to_ipynb(source, tmp_path / "nb.ipynb"))
    assert list(declared) == parameter_cell_names(source)
    for p in declared.values():
        assert p["help"].strip(), f"{p['name']} has no '# comment'"
    assert {"quick", "seed"} <= set(declared)
    assert source == EXPLORER or "build_dir" in declared


@pytest.mark.parametrize("source", [*SOURCES, EXPLORER], ids=[*IDS, EXPLORER.stem])
def test_quick_sizes_are_declared_parameters_of_their_declared_types(source, tmp_path):
    """notebooks/quick/<name>.yaml: every name a parameter, every value already of its type."""
    quick = quick_parameters(source)
    declared = pipeline.declared_parameters(pipeline.to_ipynb(source, tmp_path / "nb.ipynb"))
    typed = pipeline.check_parameters(quick, declared, source.stem)
    assert typed == quick and quick["quick"] is True and len(quick) > 1
    for name, value in quick.items():
        assert type(typed[name]) is type(value), name


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
    for bad in ("quick='false'", "quick=yes", "quick=1"):
        with pytest.raises(pipeline.ParameterError, match="'quick' must be true or false"):
            pipeline.execute(source, out, pipeline.parse_assignments([bad]), tmp_path)
    for bad in ("eta=nan", "eta=inf", "eta=-Infinity", "eta=1e999", "steps=nan"):
        with pytest.raises(
            pipeline.ParameterError,
            match=r"'eta' must be a finite number|'steps' must be an integer",
        ):
            pipeline.execute(source, out, pipeline.parse_assignments([bad]), tmp_path)
    assert not out.exists() and not [p for p in tmp_path.rglob("*") if p.is_file()]


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
        match=r"parameter 'steps' must be an integer \(default 1000, e.g. steps=2000\); got '2\.5e4\.5'",
    ):
        pipeline.check_parameters({"steps": "2.5e4.5"}, declared, "nb")
    with pytest.raises(pipeline.ParameterError, match=r"'steps' must be an integer .*got '2\.5'"):
        pipeline.check_parameters({"steps": "2.5"}, declared, "nb")
    with pytest.raises(pipeline.ParameterError, match="build_dir is set by the pipeline"):
        pipeline.check_parameters(
            {"build_dir": "x"},
            {**declared, "build_dir": {"inferred_type_name": "str", "default": "'.'"}},
            "nb",
        )
    with pytest.raises(pipeline.ParameterError, match="name=value"):
        pipeline.parse_assignments(["eta"])
    spaced = pipeline.split_assignments("""name="my dir" eta=2 other='a b'""")
    assert spaced == ['name="my dir"', "eta=2", "other='a b'"]
    assert pipeline.check_parameters(pipeline.parse_assignments(spaced[:1]), declared, "nb") == {
        "name": "my dir"
    }


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
    with pytest.raises(pipeline.ChecksFailed, match="1 claim"):
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


def test_failed_notebook_leaves_no_output(tmp_path):
    """A notebook that raises leaves no executed notebook, no figures, no results, no temporary file."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        '# %% tags=["parameters"]\nquick = False  # q\nseed = 0  # s\nbuild_dir = "."  # b\n\n'
        "# %%\nfrom pathlib import Path\n"
        'Path(build_dir, "figures", "bad").mkdir(parents=True)\n'
        'Path(build_dir, "figures", "bad", "half.png").write_bytes(b"png")\n'
        'raise RuntimeError("claim failed")\n'
    )
    build = tmp_path / "build"
    out = build / "notebooks" / "bad.ipynb"
    with pytest.raises(pipeline.NotebookFailed, match="RuntimeError: claim failed"):
        pipeline.execute(bad, out, {}, build)
    assert not [p for p in build.rglob("*") if p.is_file()]


@pytest.mark.notebook
def test_rebuilds_are_byte_identical(tmp_path):
    """Same parameters, two clean runs as make runs them: identical notebook, figures and results."""
    source = ROOT / "notebooks" / "separation.py"
    digests = []
    build = tmp_path / "build"  # the same folder (build_dir is a parameter), emptied between runs
    for _ in range(2):
        shutil.rmtree(build, ignore_errors=True)
        proc = run_pipeline(source, "--quick", "--build-dir", build)
        assert proc.returncode == 0, proc.stderr
        digests.append(build_files(build))
    assert digests[0].keys() == digests[1].keys() and len(digests[0]) > 4
    different = [name for name in digests[0] if digests[0][name] != digests[1][name]]
    assert not different, different


@pytest.mark.notebook
@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_results_record_the_parameters_actually_used(source, quick_build):
    """A quick run records its quick sizes, not the full-size defaults it overrode."""
    build, _ = quick_build
    params = json.loads((build / "results" / f"{source.stem}.json").read_text())["params"]
    sizes = quick_parameters(source)
    assert len(sizes) > 1 and {k: params[k] for k in sizes} == sizes
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
