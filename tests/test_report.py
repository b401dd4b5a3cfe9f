"""The offline claims report: every image and link resolves, every claim appears with its status."""

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest

from companion import report


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.ids, self.text = [], set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for key in ("src", "href"):
            if a.get(key) and (tag != "link" or key == "href"):
                self.refs.append((tag, a[key]))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def built_report(quick_build, tmp_path_factory):
    build, _ = quick_build
    out = tmp_path_factory.mktemp("report")
    index, failures = report.build(build, out)
    return build, out, index, failures


def test_report_links_and_images_resolve_offline(built_report):
    _, out, index, failures = built_report
    assert failures == 0
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
        assert 'src="http' not in text and "x-mathjax-config" not in text, page.name


def test_every_claim_appears_with_its_status(built_report):
    build, _, index, _ = built_report
    parser = Links()
    parser.feed(index.read_text())
    text = " ".join(" ".join(parser.text).split())
    for results_file in (build / "results").glob("*.json"):
        for claim in json.loads(results_file.read_text())["claims"]:
            assert " ".join(claim["claim"].split()) in text, claim["claim"]
    assert text.count("✓") >= sum(
        len(json.loads(p.read_text())["claims"]) for p in (build / "results").glob("*.json")
    )


def test_a_failed_check_is_shown_and_fails_the_build(built_report, tmp_path):
    build, *_ = built_report
    broken = tmp_path / "build"
    shutil.copytree(build, broken)
    res = broken / "results" / "separation.json"
    doc = json.loads(res.read_text())
    doc["claims"][0]["holds"] = False
    res.write_text(json.dumps(doc))
    (broken / "notebooks" / "orthogonal.ipynb").unlink()  # as when a notebook fails
    (broken / "results" / "orthogonal.json").unlink()
    index, failures = report.build(broken)
    assert failures == 2
    page = index.read_text()
    assert "✗ 2 check(s) failed or missing" in page and "did not finish" in page
    assert report.main(["--build", str(broken)]) == 1


def chromium():
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


@pytest.mark.skipif(
    chromium() is None,
    reason="Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it",
)
def test_report_renders_in_headless_chromium(built_report, tmp_path):
    _, out, index, _ = built_report
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
        [chromium(), *flags, "--dump-dom", index.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
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


def test_rendered_notebooks_are_cached_by_content(quick_build, tmp_path, monkeypatch):
    build, _ = quick_build
    ipynb = tmp_path / "separation.ipynb"
    shutil.copy(build / "notebooks" / "separation.ipynb", ipynb)
    cache = tmp_path / "cache"
    first = report.render_notebook(ipynb, tmp_path / "a.html", cache=cache)
    monkeypatch.setattr(
        report, "_exporter", lambda: None
    )  # a second render would fail: it must come from the cache
    assert report.render_notebook(ipynb, tmp_path / "b.html", cache=cache) == first
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()
    ipynb.write_text(ipynb.read_text().replace("head", "Head", 1))  # other bytes: rendered anew
    with pytest.raises(AttributeError):
        report.render_notebook(ipynb, tmp_path / "c.html", cache=cache)


def test_a_report_whose_notebooks_are_all_cached_builds_no_exporter(
    quick_build, tmp_path, monkeypatch
):
    build, _ = quick_build
    notebooks = [build / "notebooks" / f"{name}.ipynb" for name in ("separation", "beyond_depth")]
    cache = tmp_path / "cache"
    first = report.render_all(notebooks, tmp_path / "a", cache)
    monkeypatch.setattr(
        report, "_exporter", lambda: 1 / 0
    )  # neither nbconvert nor a worker pool is needed now
    assert report.render_all(notebooks, tmp_path / "b", cache) == first
    assert all(
        (tmp_path / "b" / f"{p.stem}.html").read_bytes()
        == (tmp_path / "a" / f"{p.stem}.html").read_bytes()
        for p in notebooks
    )


def test_the_page_is_as_a_document_the_one_nbconvert_returns(quick_build):
    """The report skips nbconvert's HTML sanitizer and reparsing; on this repository's notebooks that changes nothing.

    Compared as document trees (tags, attributes, text), the page equals what
    nbconvert's own exporter returns, sanitizer and accessibility pass included.
    """
    import nbformat
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    build, _ = quick_build
    for name in ("convergence", "orthogonal"):
        nb = nbformat.read(build / "notebooks" / f"{name}.ipynb", as_version=4)
        theirs, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
        ours = report._exporter().from_notebook_node(nb)[0]
        assert BeautifulSoup(ours, "html.parser") == BeautifulSoup(theirs, "html.parser"), name
        assert ours.count('tabindex="0"') == theirs.count('tabindex="0"') > 10, name
        assert ours.count("<img") == len(re.findall(r"<img[^>]*\salt=", ours)) > 1, name


def test_every_image_gets_alternative_text_and_every_cell_is_focusable():
    page = (
        '<div class="jp-Cell-inputWrapper">a</div><div class="x jp-OutputArea-output y"><img src="p.png"></div>'
        '<div class="jp-OutputArea-output-prompt"></div><img alt="kept" src="q.png">'
    )
    out = report._accessible(page)
    assert out.count('tabindex="0"') == 2 and '<div class="jp-OutputArea-output-prompt">' in out
    assert '<img alt="No description has been provided for this image" src="p.png">' in out
    assert '<img alt="kept" src="q.png">' in out
