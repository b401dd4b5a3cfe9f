"""The offline claims report: every image and link resolves, every claim appears with its status,
and `make report` passes only when every notebook's results are current."""

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest
import test_hardening
from conftest import ROOT

from companion import claims, report
from companion.catalog import BEYOND, notebooks

# The sources and a finished quick build in a fresh folder sharing .venv, and make run there.
repo_copy = test_hardening.repo_copy
make_quick = test_hardening.make


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.ids, self.text, self.imgs = [], set(), [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "img":
            self.imgs.append(a)
        for key in ("src", "href"):
            if a.get(key) and (tag != "link" or key == "href"):
                self.refs.append((tag, a[key]))

    def handle_data(self, data):
        self.text.append(data)


def page_text(index: Path) -> str:
    parser = Links()
    parser.feed(index.read_text())
    return " ".join(" ".join(parser.text).split())


def recorded_clean(build: Path, name: str) -> bool:
    """Whether the notebook's results record a clean tree (they are current in a clean checkout)."""
    return (
        json.loads((build / "results" / f"{name}.json").read_text())["provenance"]["dirty"] is False
    )


@pytest.fixture(scope="module")
def built_report(quick_build, tmp_path_factory):
    build, _ = quick_build
    out = tmp_path_factory.mktemp("report")
    index, statuses = report.build(build, out)
    return build, out, index, statuses


@pytest.fixture
def build_copy(quick_build, tmp_path):
    """A copy of the session's quick build, to break on purpose."""
    build, _ = quick_build
    copy = tmp_path / "build"
    shutil.copytree(build, copy, ignore=shutil.ignore_patterns("report"))
    return copy


def make_report(build: Path) -> tuple[int, str, str]:
    """The real `make report` on ``build``: its exit status, its output and the page's text."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    proc = subprocess.run(
        ["make", "--no-print-directory", "report", f"BUILD={build}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout + proc.stderr, page_text(build / "report" / "index.html")


def edit_results(build: Path, name: str, edit) -> None:
    path = build / "results" / f"{name}.json"
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))


def test_the_results_record_the_digest_of_the_current_sources(quick_build):
    build, _ = quick_build
    for name in notebooks():
        made = json.loads((build / "results" / f"{name}.json").read_text())["provenance"]
        assert made["source_digest"] == claims.source_digest([name]), name
        assert made["commit"] and made["dirty"] in (True, False), name


def test_make_report_passes_on_a_current_build(build_copy):
    """Every notebook of the catalog is listed; ✓ current exactly for results made from a clean tree."""
    code, out, text = make_report(build_copy)
    clean = {name: recorded_clean(build_copy, name) for name in notebooks()}
    for name, is_clean in clean.items():
        assert (f"{name} ✓ current" in text) == is_clean, name
        assert (f"{name} stale (produced by uncommitted changes" in out) == (not is_clean), name
    assert (code == 0) == all(clean.values()), out
    assert "Alternative text is missing" not in out
    if code == 0:
        assert f"✓ all checks hold, all {len(clean)} notebooks current" in out


def test_make_report_renders_again_only_the_page_of_a_changed_notebook(build_copy):
    """Pages are make targets: an unchanged notebook's page is reused, a changed one's is rendered anew."""
    pages = build_copy / "pages"
    before = {p.name: p.stat().st_mtime_ns for p in pages.glob("*.html")}
    assert len(before) == len(notebooks())
    ipynb = build_copy / "notebooks" / "orthogonal.ipynb"
    doc = json.loads(ipynb.read_text())
    marker = "A sentence that only the changed notebook has."
    next(c for c in doc["cells"] if c["cell_type"] == "markdown")["source"] += "\n\n" + marker
    ipynb.write_text(json.dumps(doc))
    make_report(build_copy)
    after = {p.name: p.stat().st_mtime_ns for p in pages.glob("*.html")}
    assert [name for name in before if after[name] != before[name]] == ["orthogonal.html"]
    assert marker in (build_copy / "report" / "notebooks" / "orthogonal.html").read_text()
    # Without make, the report renders a page itself when its notebook is newer than the page.
    doc["cells"][-1]["source"] += "\n# " + marker[::-1]
    ipynb.write_text(json.dumps(doc))
    report.build(build_copy)
    assert marker[::-1] in (build_copy / "report" / "notebooks" / "orthogonal.html").read_text()


@pytest.mark.parametrize(
    "breakage, name, label",
    [
        ("killed", BEYOND[0].notebook, "✗ did not finish (no results and no executed notebook)"),
        ("stale", "separation", "stale (produced by other sources"),
        ("dirty", "orthogonal", "stale (produced by uncommitted changes to its sources"),
        ("truncated", "convergence", "✗ unreadable results ("),
        ("empty file", "linear_network", "✗ unreadable results ("),
        ("no checks", "beyond_depth", "✗ no checks"),
        ("failed", "beyond_real_data", "✗ failed (1 of"),
    ],
)
def test_make_report_fails_and_says_why(build_copy, breakage, name, label):
    results = build_copy / "results" / f"{name}.json"
    if breakage == "killed":
        results.unlink()
        (build_copy / "notebooks" / f"{name}.ipynb").unlink()
    elif breakage == "stale":
        edit_results(build_copy, name, lambda doc: doc["provenance"].update(source_digest="0" * 64))
    elif breakage == "dirty":
        edit_results(build_copy, name, lambda doc: doc["provenance"].update(dirty=True))
    elif breakage == "truncated":
        results.write_bytes(results.read_bytes()[:500])
    elif breakage == "empty file":
        results.write_bytes(b"")
    elif breakage == "no checks":
        edit_results(build_copy, name, lambda doc: doc.update(claims=[]))
    elif breakage == "failed":
        edit_results(build_copy, name, lambda doc: doc["claims"][0].update(holds=False))
    code, out, text = make_report(build_copy)
    assert code != 0, out
    summary = [line for line in out.splitlines() if "report:" in line]
    assert len(summary) == 1 and f"{name} {label}" in summary[0], out
    assert f"{name} {label}" in text
    assert "✓ all" not in text and "✓ all" not in out
    if "unreadable" in label:
        assert str(results) in summary[0]  # the one line names the file


def test_a_build_stopped_after_a_failing_notebook_shows_no_older_check_as_current(build_copy):
    """As after a plain `make QUICK=1` that stopped at a failing notebook: the others keep older results."""
    failing = "separation"
    for name in notebooks():
        edit_results(build_copy, name, lambda doc: doc["provenance"].update(source_digest="1" * 64))
    (build_copy / "notebooks" / f"{failing}.ipynb").unlink()
    edit_results(
        build_copy,
        failing,
        lambda doc: (
            doc["provenance"].update(source_digest=claims.source_digest([failing])),
            doc["claims"][0].update(holds=False),
        ),
    )
    code, out, text = make_report(build_copy)
    assert code != 0 and not any(f"{name} ✓ current" in text for name in notebooks())
    assert f"{failing} ✗ failed" in out
    others = [name for name in notebooks() if name != failing]
    assert all(f"{name} stale (produced by other sources" in out for name in others), out
    assert f"✗ {len(notebooks())} of {len(notebooks())} notebooks not ✓ current" in out


def test_a_plain_make_quick_after_failing_notebooks_shows_no_older_check_as_current(repo_copy):
    """The real `make QUICK=1` after every source changed, where the first notebooks fail and make stops.

    The notebooks make never reached keep their results from the older sources: stale, never ✓ current.
    """
    for source in (repo_copy / "notebooks").glob("*.py"):
        text = source.read_text() + "\n# edited\n"
        source.write_text(  # the claim notebooks, which make starts first, fail in their first section
            text.replace(
                "# %% [markdown]\n# ## 1.",
                '# %%\nraise RuntimeError("broken on purpose")\n\n# %% [markdown]\n# ## 1.',
                1,
            )
        )
    out = make_quick(repo_copy)
    assert out.returncode != 0 and "report:" in out.stdout, out.stdout + out.stderr
    build = repo_copy / "build" / "quick"
    text = page_text(build / "report" / "index.html")
    for name in notebooks():
        path = build / "results" / f"{name}.json"
        rebuilt = path.is_file() and json.loads(path.read_text())["provenance"][
            "source_digest"
        ] == claims.source_digest([name], repo_copy)
        assert (f"{name} ✓ current" in text) <= rebuilt, name
    assert sum(f"{name} stale (produced by other sources" in text for name in notebooks()) >= 1


def test_a_stale_source_is_seen_in_the_files_themselves(quick_build, tmp_path):
    """Results are current against a copy of their sources, and stale once one of those files changes."""
    build, _ = quick_build
    name = "beyond_depth"
    for pattern in claims.source_patterns([name]):
        for path in ROOT.glob(pattern):
            dest = tmp_path / path.relative_to(ROOT)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
    before = report.notebook_status(build, name, root=tmp_path)
    assert before.label != "stale" or "uncommitted" in before.reason, before
    theory = tmp_path / "fa_core" / "theory.py"
    theory.write_text(theory.read_text() + "\n# edited\n")
    after = report.notebook_status(build, name, root=tmp_path)
    assert after.label == "stale" and "other sources" in after.reason, after
    readme = tmp_path / "README.md"
    theory.write_text(theory.read_text().removesuffix("\n# edited\n"))
    readme.write_text("not a source")
    assert report.notebook_status(build, name, root=tmp_path) == before


def test_provenance_records_the_commit_and_whether_the_sources_were_committed(tmp_path):
    def git(*args):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    (tmp_path / "fa_core").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "fa_core" / "theory.py").write_text("x = 1\n")
    (tmp_path / "notebooks" / "nb.py").write_text("y = 2\n")
    (tmp_path / "README.md").write_text("readme\n")
    assert claims.provenance("nb", tmp_path)["commit"] is None  # not a checkout
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "first")
    clean = claims.provenance("nb", tmp_path)
    assert clean["dirty"] is False and len(clean["commit"]) >= 7
    (tmp_path / "README.md").write_text("edited\n")  # not a source of nb
    assert claims.provenance("nb", tmp_path) == clean
    (tmp_path / "fa_core" / "theory.py").write_text("x = 3\n")
    edited = claims.provenance("nb", tmp_path)
    assert edited["dirty"] is True and edited["source_digest"] != clean["source_digest"]
    git("commit", "-qam", "second")
    assert claims.provenance("nb", tmp_path)["dirty"] is False
    (tmp_path / "fa_core" / "new.py").write_text("")  # untracked science
    assert claims.provenance("nb", tmp_path)["dirty"] is True


def test_report_links_and_images_resolve_offline(built_report):
    _, out, index, _ = built_report
    parser = Links()
    parser.feed(index.read_text())
    assert sum(tag == "img" for tag, _ in parser.refs) >= 10
    for tag, ref in parser.refs:
        url = urlparse(ref)
        assert url.scheme in ("", "https") and (url.scheme == "" or tag == "a"), (
            f"external resource: {ref}"
        )
        if url.scheme:
            continue  # an outbound link (the paper), never loaded
        target = out / url.path if url.path else index
        assert target.is_file(), ref
        if url.fragment and target.suffix == ".html":
            inner = Links()
            inner.feed(target.read_text())
            assert url.fragment in inner.ids, ref
    for page in (out / "notebooks").glob("*.html"):
        text = page.read_text()
        assert "src=" not in text.replace('src="data:image/png;base64,', ""), page.name
        assert "x-mathjax-config" not in text and "cdnjs" not in text, page.name


def test_every_figure_has_its_own_alternative_text(built_report):
    _, out, index, _ = built_report
    pages = [index, *sorted((out / "notebooks").glob("*.html"))]
    assert len(pages) == 1 + len(notebooks())
    for page in pages:
        parser = Links()
        parser.feed(page.read_text())
        assert parser.imgs, page.name
        for img in parser.imgs:
            assert img.get("alt", "").startswith("Figure "), (page.name, img.get("alt"))
        alts = [img["alt"] for img in parser.imgs]
        assert len(set(alts)) == len(alts), page.name  # each describes its own figure


def test_every_claim_appears_with_its_status(built_report):
    build, _, index, statuses = built_report
    text = page_text(index)
    assert [s.notebook for s in statuses] == notebooks()
    for results_file in (build / "results").glob("*.json"):
        for claim in json.loads(results_file.read_text())["claims"]:
            assert " ".join(claim["claim"].split()) in text, claim["claim"]
    checks = sum(
        len(json.loads(p.read_text())["claims"]) for p in (build / "results").glob("*.json")
    )
    assert text.count("✓") >= checks


def test_checks_show_their_kind_and_stale_checks_are_not_shown_as_passing():
    results = {
        "notebook": "nb",
        "claims": [
            dict(claim="a law", value=1.0, op="<", threshold=2.0, holds=True, kind="law"),
            dict(claim="an identity", value=0.0, op="<", threshold=1.0, holds=True),
        ],
    }
    parser = Links()
    parser.feed(report.checks_table(results, None))
    text = " ".join(parser.text)
    assert "a law ✓" not in text and "law" in text.split("a law")[1].split("an identity")[0]
    assert text.count("✓") == 2 and "(✓)" not in text
    stale = " ".join(report.checks_table(results, None, current=False).split())
    assert stale.count("(✓)") == 2 and '<span class="pass">' not in stale


def test_the_sabotage_matrix_is_per_check_with_a_column_for_every_notebook(tmp_path):
    sample = {
        "breakages": {
            "fa_is_gd": "FA's feedback replaced by W",
            "whitening_skipped": "network inputs not whitened",
            "harmless": "a breakage nothing catches",
        },
        "checks": [
            {
                "notebook": "separation",
                "check": "FA above OPT",
                "kind": "law",
                "caught_by": ["fa_is_gd"],
            },
            {
                "notebook": "separation",
                "check": "engines agree",
                "kind": "consistency",
                "caught_by": [],
            },
            {
                "notebook": "beyond_real_data",
                "check": "whitened limits unchanged",
                "kind": "law",
                "caught_by": ["whitening_skipped", "fa_is_gd"],
            },
            {"notebook": "orthogonal", "check": "overlap in band", "kind": "law", "caught_by": []},
        ],
    }
    path = tmp_path / "sabotage.json"
    path.write_text(json.dumps(sample))
    page = report.sabotage_table(path)
    rows = [row for row in page.split("<tr>")[1:]]
    head = rows[0]
    for notebook in ("separation", "beyond real data", "orthogonal"):
        assert f"<th>{notebook}</th>" in head
    by_breakage = {
        name: row
        for name in sample["breakages"]
        for row in rows
        if f"<code>{name}</code></td><td" in row
    }

    def cells(row):  # the notebooks' columns, in order
        return row.split("</td>")[1:4]

    assert ["1 ✗" in c for c in cells(by_breakage["fa_is_gd"])] == [True, True, False]
    assert ["1 ✗" in c for c in cells(by_breakage["whitening_skipped"])] == [False, True, False]
    assert "whitened limits unchanged" in cells(by_breakage["whitening_skipped"])[1]
    assert all("·" in c for c in cells(by_breakage["harmless"]))
    per_check = page.split("caught by</th></tr>")[1]
    assert (
        '<td class="bad">none</td>' in per_check.split("overlap in band")[1]
    )  # a law nothing catches
    assert '<td class="bad">' not in per_check.split("engines agree")[1].split("</tr>")[0]
    path.write_text(json.dumps({"fa_is_gd": {"claims": {}}}))  # the old shape: named, not a crash
    assert "is not a sabotage matrix" in report.sabotage_table(path)


def chromium():
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


# Counts, in the page as Chromium loads it, the images that failed to load. Added to a copy of
# the page by this test only.
_BROKEN_IMAGES_PROBE = """<script>
window.addEventListener("load", function () {
  var broken = Array.prototype.filter.call(document.images, function (i) { return !i.complete || i.naturalWidth === 0; });
  document.body.setAttribute("data-broken-images", String(broken.length));
});
</script>"""


@pytest.mark.skipif(
    chromium() is None,
    reason="Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it",
)
def test_report_renders_in_headless_chromium(built_report, tmp_path):
    _, out, index, _ = built_report
    probed = out / "probed.html"
    probed.write_text(index.read_text().replace("</body>", _BROKEN_IMAGES_PROBE + "</body>"))
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000",
    ]
    dom = subprocess.run(
        [chromium(), *flags, "--dump-dom", probed.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    probed.unlink()
    assert 'data-broken-images="0"' in dom.stdout, dom.stderr[-2000:]
    shot = tmp_path / "report.png"
    subprocess.run(
        [chromium(), *flags, f"--screenshot={shot}", "--window-size=1300,2400", index.as_uri()],
        capture_output=True,
        timeout=120,
    )
    import matplotlib.image

    img = matplotlib.image.imread(shot)
    assert img.shape[0] >= 2000 and img[..., :3].std() > 0.05  # rendered content, not a blank page
    nb_dom = subprocess.run(
        [chromium(), *flags, "--dump-dom", (out / "notebooks" / "separation.html").as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        "‖(I − P) Y‖" in nb_dom.stdout or "‖(I − P)Y‖" in nb_dom.stdout
    )  # maths shown as readable text
