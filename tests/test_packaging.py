"""The two-command setup, environment.yml and CI stay in sync with each other."""

import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

# The Pythons the lock covers and the checks were run on: pyproject's classifiers.
SUPPORTED = [
    c.rsplit(" :: ", 1)[1]
    for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["classifiers"]
    if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
]


def test_environment_yml_is_generated_from_the_lock():
    """environment.yml pins every declared dependency to the lock's version (make environment writes it)."""
    from companion import environment

    assert (ROOT / "environment.yml").read_text() == environment.render(), (
        "run `make environment` and commit"
    )
    pip_side = set(environment.declared("dev"))
    assert {"numpy", "matplotlib", "papermill", "pytest"} <= pip_side
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pinned = dict(d.split("=", 1) for d in env["dependencies"] if isinstance(d, str) and "=" in d)
    assert set(pinned) - {"python"} == pip_side
    lock = environment.pins(environment.PYTHON)
    assert all(lock[name] == version for name, version in pinned.items() if name != "python")
    assert [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"] == ["-e .[dev]"]
    assert ".[dev]" in (ROOT / "Makefile").read_text()


def test_python_floor_agrees():
    """pyproject's floor, its classifiers, the lock's range and environment.yml name the same Pythons."""
    from companion import environment

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    floor = min(SUPPORTED, key=lambda v: tuple(map(int, v.split("."))))
    assert project["requires-python"] == f">={floor}"
    assert f"--python-version {floor}" in (ROOT / "Makefile").read_text()
    assert f"python={environment.PYTHON}" in env["dependencies"]
    assert environment.PYTHON in SUPPORTED


def _quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", section, re.S).group(1)
    return [
        line.strip()
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def test_readme_quickstart_is_exactly_the_two_commands():
    assert _quickstart_commands() == ["make", "make test"]


def test_ci_runs_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = _quickstart_commands()[1]
    assert re.search(rf"^\s*{re.escape(test_cmd)}\s*$", ci, re.M), (
        ".ci/run must call README's test command"
    )


def test_the_lock_pins_every_declared_dependency_on_every_supported_python():
    """For every supported Python (each patch release up to .30), the lock pins each requirement of
    pyproject.toml's dependencies and extras exactly once, at a version the requirement allows."""
    from companion import environment

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    reqs += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    reqs = [r for r in reqs if canonicalize_name(r.name) != "fa-companion"]
    assert len(reqs) > 15
    for minor in SUPPORTED:
        for patch in range(31):
            python = f"{minor}.{patch}"
            pins = environment.pins(python)  # raises if a name is pinned twice
            for req in reqs:
                name = canonicalize_name(req.name)
                assert name in pins, f"the lock pins no {name} for Python {python}: run `make lock`"
                assert req.specifier.contains(pins[name]), (python, name, pins[name], str(req))
    text = (ROOT / "requirements" / "lock.txt").read_text()
    assert "file://" not in text and " @ " not in text  # versions from the index, no local paths


def test_the_lock_pins_everything_this_python_installs():
    """Every distribution that ``fa-companion[dev]`` pulls in on this Python (its installed metadata,
    followed transitively) is pinned by the lock, at the very version installed."""
    from companion import environment

    python = ".".join(map(str, sys.version_info[:3]))
    pins = environment.pins(python)
    seen: dict[str, set[str]] = {}  # distribution: the extras followed so far
    todo = [Requirement("fa-companion[dev]")]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen and set(req.extras) <= seen[name]:
            continue
        extras = seen.setdefault(name, set())
        extras |= set(req.extras)
        for text in metadata.distribution(name).requires or []:
            dep = Requirement(text)
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in extras | {""}):
                todo.append(dep)
    installed = {name: metadata.version(name) for name in seen}
    installed.pop("fa-companion")
    assert len(installed) > 50
    unpinned = sorted(set(installed) - set(pins))
    assert not unpinned, f"the lock pins no version of {unpinned} for Python {python}"
    differ = {n: (v, pins[n]) for n, v in installed.items() if v != pins[n]}
    assert not differ, f"installed and locked versions differ (installed, locked): {differ}"


def test_the_wheel_holds_fa_core_and_the_licence(tmp_path):
    """The wheel installs the science package only (the build tooling never lands in a user's
    environment under the generic name ``companion``) and carries the licence. Built offline."""
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "docs", "*.egg-info", "__pycache__", ".*cache"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = tmp_path.glob("fa_companion-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    info = next(t for t in tops if t.endswith(".dist-info"))
    assert tops == {"fa_core", info}, tops
    assert {p.name for p in (ROOT / "fa_core").glob("*.py")} == {
        n.split("/")[1] for n in names if n.startswith("fa_core/")
    }
    assert f"{info}/licenses/LICENSE" in names
    with zipfile.ZipFile(wheel) as z:
        assert z.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        meta = z.read(f"{info}/METADATA").decode()
    assert "License-Expression: MIT" in meta and "License-File: LICENSE" in meta
    assert "Author: the fa-companion authors" in meta


def test_the_licence_is_the_one_pyproject_names():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    text = (ROOT / "LICENSE").read_text()
    assert project["license"] == "MIT" and text.startswith("MIT License\n")
    assert "Copyright (c) 2026 the fa-companion authors" in text


def test_importing_fa_core_loads_numpy_only(tmp_path):
    """``import fa_core`` brings in no third-party module but NumPy, from any working folder
    (modules without a file, such as the Cython runtime's, are made in memory by NumPy)."""
    code = (
        "import sys; before = set(sys.modules); import fa_core; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "print(sorted(m for m in new - set(sys.stdlib_module_names) "
        "if getattr(sys.modules[m], '__file__', None)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout.strip()
    assert out == "['fa_core', 'numpy']", out


def test_the_tooling_imports_from_any_folder(tmp_path):
    """In the project's venv, ``import companion`` finds the repository's tooling from any working
    folder (notebook kernels run in notebooks/), through the .pth file that `make venv` writes."""
    code = "import companion, fa_core; print(companion.__file__); print(fa_core.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout.split()
    assert out == [str(ROOT / "companion" / "__init__.py"), str(ROOT / "fa_core" / "__init__.py")]


def test_generated_outputs_are_ignored():
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "/build/" in ignored and "/.venv/" in ignored


def test_readme_python_example_runs():
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["fa_run"].rel_error.shape[0] == 20
    assert scope["fa"].fa_limit_error(scope["target"], scope["fa_run"].B).min() > scope[
        "fa"
    ].optimal_error(scope["target"], 5)
    assert len(scope["results"]) == 4


def _bibtex_entries() -> dict[str, dict[str, str]]:
    """README's "How to cite" BibTeX, as ``{key: {field: value}}`` (one level of braces stripped)."""
    section = (ROOT / "README.md").read_text().split("## How to cite", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bibtex\n(.*?)```", section, re.S).group(1)
    entries = {}
    for kind, key, body in re.findall(r"@(\w+)\{([^,]+),\n(.*?)\n\}", block, re.S):
        fields = dict(re.findall(r"^\s*(\w+)\s*=\s*\{(.*)\},?$", body, re.M))
        entries[key] = {"@type": kind, **fields}
    return entries


def test_citation_cff_is_valid_cff_1_2_0():
    """CITATION.cff has CFF 1.2.0's required keys with their types; the software is the citable
    work and agrees with pyproject.toml; the paper is among its references."""
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert cff["cff-version"] == "1.2.0"  # a string, as the schema requires
    assert isinstance(cff["message"], str) and cff["message"].strip()
    assert isinstance(cff["title"], str) and cff["title"].strip()
    assert isinstance(cff["authors"], list) and cff["authors"]
    for person in cff["authors"]:
        assert isinstance(person, dict) and ("family-names" in person or "name" in person)
    assert cff["type"] == "software"
    assert str(cff["version"]) == project["version"]
    assert cff["license"] == project["license"]
    assert [a["name"] for a in cff["authors"]] == [a["name"] for a in project["authors"]]
    (paper,) = [r for r in cff["references"] if r["type"] == "conference-paper"]
    assert paper["title"] == (
        "How and When Random Feedback Works: A Case Study of Low-Rank Matrix Factorization"
    )
    assert [a["family-names"] for a in paper["authors"]] == ["Garg", "Vempala"]
    assert all(isinstance(a["given-names"], str) for a in paper["authors"])
    assert (paper["year"], paper["volume"], paper["start"], paper["end"]) == (2022, 151, 4070, 4108)
    assert paper["conference"]["name"] == "AISTATS 2022" and paper["publisher"]["name"] == "PMLR"
    assert {"type": "other", "value": "arXiv:2111.08706"}.items() <= paper["identifiers"][0].items()


def test_readme_cites_the_paper_and_the_software_as_citation_cff_does():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    (paper,) = cff["references"]
    entries = _bibtex_entries()
    assert sorted(e["@type"] for e in entries.values()) == ["inproceedings", "software"]
    (bib_paper,) = [e for e in entries.values() if e["@type"] == "inproceedings"]
    (bib_software,) = [e for e in entries.values() if e["@type"] == "software"]
    assert bib_paper["title"] == paper["title"]
    assert bib_paper["author"] == " and ".join(
        f"{a['family-names']}, {a['given-names']}" for a in paper["authors"]
    )
    assert bib_paper["pages"] == f"{paper['start']}--{paper['end']}"
    assert (bib_paper["volume"], bib_paper["year"]) == (str(paper["volume"]), str(paper["year"]))
    assert bib_paper["eprint"] == paper["identifiers"][0]["value"].removeprefix("arXiv:")
    assert bib_software["title"] == cff["title"]
    assert bib_software["version"] == str(cff["version"])
    assert bib_software["author"] == "{" + cff["authors"][0]["name"] + "}"
