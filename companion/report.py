"""Build the static claims report: one page per build, working offline.

    python -m companion.report --build build          # writes build/report/index.html

The report shows each claim with its figures and a short explanation, the table of
checks from every notebook's results JSON (with links to the cell that computed
them), the parameters, seed, package versions and git commit, and the executed
notebooks rendered to HTML. It loads nothing from the network: nbconvert's CDN
scripts (MathJax, require.js) are removed, and the notebooks write their maths in
Unicode, so it reads as it is. Exit status 1 if any check failed or any notebook
has no results, after the report is written.

Not an algorithm module: this one does file I/O.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import html
import json
import multiprocessing
import os
import re
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .catalog import BEYOND, CLAIMS

_CDN = re.compile(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>\s*', re.I)
_MATHJAX_CONFIG = re.compile(r'<script type="text/x-mathjax-config">.*?</script>\s*', re.S | re.I)
_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.5}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
.banner{padding:.8em 1em;border-radius:6px;font-weight:600;margin:1em 0}
.ok{background:#e7f5ea;color:#1d6b34} .fail{background:#fde8e8;color:#a11;font-size:1.3em}
figure{margin:1em 0} figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.85em;color:#555}
table{border-collapse:collapse;width:100%;font-size:.9em;margin:.6em 0}
th,td{border-bottom:1px solid #e5e5e5;padding:.3em .5em;text-align:left;vertical-align:top}
td.num{font-family:ui-monospace,monospace;white-space:nowrap}
.pass{color:#1d6b34;font-weight:700} .bad{color:#c00;font-weight:700;font-size:1.2em}
details{margin:.5em 0} code{background:#f4f4f4;padding:0 .2em}
nav a{margin-right:1em}
"""
_BROKEN_IMAGES_PROBE = """<script>
window.addEventListener("load", function () {
  var broken = Array.prototype.filter.call(document.images, function (i) { return !i.complete || i.naturalWidth === 0; });
  document.body.setAttribute("data-broken-images", String(broken.length));
});
</script>"""


def offline_html(body: str) -> str:
    """Remove every script nbconvert would fetch from a CDN."""
    return _MATHJAX_CONFIG.sub("", _CDN.sub("", body))


def render_notebook(ipynb: Path, dest: Path, cache: Path | None = None) -> dict:
    """Executed notebook → offline HTML; returns its code cells' ids by execution count.

    With ``cache`` (a folder), a notebook already rendered from the same bytes
    by the same report code is copied from there instead of rendered again.
    """
    import nbformat

    data = ipynb.read_bytes()
    cached = _cached_html(data, cache)
    nb = nbformat.reads(data.decode(), as_version=4)
    cells = {c.get("execution_count"): c.get("id") for c in nb.cells if c.cell_type == "code"}
    dest.parent.mkdir(parents=True, exist_ok=True)
    if cached is not None and cached.is_file():
        shutil.copyfile(cached, dest)
        return cells
    body, _ = _exporter().from_notebook_node(nb)
    dest.write_text(offline_html(body))
    if cached is not None:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}")
        shutil.copyfile(dest, tmp)
        tmp.replace(cached)  # whole files only, even with two reports writing at once
    return cells


def _cached_html(data: bytes, cache: Path | None) -> Path | None:
    """Where the page rendered from these notebook bytes by this report code is kept (None without a cache)."""
    key = hashlib.sha256(data + Path(__file__).read_bytes()).hexdigest()[:32]
    return cache / f"{key}.html" if cache else None


@functools.cache
def _exporter():
    """One nbconvert exporter for every notebook (its templates compile once).

    Markdown and outputs are written to the page as they are: the notebooks are
    this repository's own, so nbconvert's HTML sanitizer (half the rendering
    time) would only reparse what it then returns unchanged. The page is also
    not reparsed for its accessibility attributes (three quarters of what was
    left): :func:`_accessible` adds the same ones to the text.
    ``tests/test_report.py`` checks that the page is, as a document, the one
    nbconvert's own exporter returns.
    """
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class PageExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            # HTMLExporter's own steps, up to the template's output; then _accessible instead of BeautifulSoup
            info = nb.metadata.get("language_info", {})
            lexer = info.get("pygments_lexer", info.get("name"))
            resources = self._init_resources(resources)
            self.register_filter(
                "highlight_code",
                self.filters.get(
                    "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
                ),
            )
            self.register_filter(
                "filter_data_type",
                WidgetsDataTypeFilter(
                    notebook_metadata=self._nb_metadata, parent=self, resources=resources
                ),
            )
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return _accessible(page), resources

    exporter = PageExporter(template_name="lab", filters={"clean_html": _as_text})
    exporter.template  # noqa: B018 (compiled now: forked workers inherit it)
    return exporter


_NO_ALT = re.compile(r"<img(?![^>]*\salt=)")
# A div whose class list holds a cell's input or an output: keyboard-focusable, as nbconvert makes them.
_FOCUSABLE = re.compile(
    r'<div class="((?:[^"]*\s)?(?:jp-Cell-inputWrapper|jp-OutputArea-output)(?:\s[^"]*)?)"'
)


def _accessible(page: str) -> str:
    """nbconvert's accessibility pass, on the text: alternative text for every image, focusable cells."""
    page = _NO_ALT.sub('<img alt="No description has been provided for this image"', page)
    return _FOCUSABLE.sub(r'<div class="\1" tabindex="0"', page)


def _as_text(element) -> str:
    return element.decode() if isinstance(element, bytes) else str(element)


def _fmt(x) -> str:
    return f"{x:.4g}" if isinstance(x, (int, float)) else html.escape(str(x))


def checks_table(
    results: dict, link: str | None, about: str | None = None, cells: dict | None = None
) -> str:
    """The checks of one notebook, or only those that support section ``about``.

    Each check links to the rendered notebook at the cell that computed it
    (``cells`` maps execution counts to cell ids).
    """
    rows = []
    for c in results["claims"]:
        if about is not None and c.get("about", results["notebook"]) != about:
            continue
        mark = '<span class="pass">✓</span>' if c["holds"] else '<span class="bad">✗</span>'
        claim = html.escape(c["claim"])
        if link:
            cell = (cells or {}).get(c.get("cell"))
            claim = (
                f'<a href="{link}#cell-id={cell}">{claim}</a>'
                if cell
                else f'<a href="{link}">{claim}</a>'
            )
        note = f"<br><small>{html.escape(c['note'])}</small>" if c.get("note") else ""
        rows.append(
            f'<tr><td>{mark}</td><td>{claim}{note}</td><td class="num">{_fmt(c["value"])}</td>'
            f'<td class="num">{html.escape(c["op"])} {_fmt(c["threshold"])}</td></tr>'
        )
    return (
        "<table><tr><th></th><th>claim checked</th><th>measured</th><th>threshold</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def sabotage_table(path: Path) -> str:
    """Breakages against claims: how many checks turned ✗ (from ``make sabotage``)."""
    if not path.is_file():
        return "<p>No sabotage matrix: run <code>make sabotage</code>.</p>"
    matrix = json.loads(path.read_text())
    claims = [c.anchor for c in CLAIMS]
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in claims)
    rows = []
    for name, row in matrix.items():
        cells = []
        for claim in claims:
            cell = row["claims"].get(claim)
            if cell is None:
                cells.append('<td class="num">·</td>')
                continue
            count = len(cell["failed_checks"])
            mark = f"caught: {count} ✗" if cell["caught"] else "NOT caught"
            detail = "<br>".join(html.escape(c) for c in cell["failed_checks"]) + "".join(
                f"<br>crashed: {html.escape(e)}" for e in cell["crashed"]
            )
            cls = "pass" if cell["caught"] else "bad"
            cells.append(
                f'<td class="num"><details><summary class="{cls}">{mark}'
                f"</summary><small>{detail}</small></details></td>"
            )
        rows.append(
            f"<tr><td>{html.escape(row['description'])} <code>{html.escape(name)}</code></td>{''.join(cells)}</tr>"
        )
    return (
        f"<table><tr><th>breakage</th>{head}</tr>{''.join(rows)}</table>"
        "<p><small>Each cell: how many of that claim's checks turn ✗ when the notebooks run at quick size on the "
        "broken code; green means the breakage was caught (· = not relevant). Open a cell for the checks. Every "
        "relevant breakage must be caught; <code>tests/test_sabotage.py</code> enforces it.</small></p>"
    )


def provenance(results: dict) -> str:
    params = "".join(
        f"<tr><td><code>{html.escape(k)}</code></td><td class='num'>{html.escape(json.dumps(v))}</td></tr>"
        for k, v in results.get("params", {}).items()
    )
    env = ", ".join(f"{k} {html.escape(str(v))}" for k, v in results.get("environment", {}).items())
    return (
        f"<details><summary>Parameters (seed {html.escape(str(results.get('params', {}).get('seed', '?')))}) "
        f"and environment</summary><table>{params}</table><p><small>{env}</small></p></details>"
    )


def build(build_dir: Path, out: Path | None = None) -> tuple[Path, int]:
    """Write the report; return its index path and the number of failed or missing checks."""
    build_dir = Path(build_dir)
    final = Path(out) if out else build_dir / "report"
    out = final.with_name(f".{final.name}.{os.getpid()}.tmp")  # written in full, then swapped in
    shutil.rmtree(out, ignore_errors=True)
    try:
        (out / "notebooks").mkdir(parents=True)
        failures = _write(build_dir, out)
        old = final.with_name(f".{final.name}.{os.getpid()}.old")
        if final.exists():
            final.rename(old)
        out.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return final / "index.html", failures


def render_all(notebooks: list[Path], out: Path, cache: Path) -> dict[str, dict]:
    """:func:`render_notebook` for each executed notebook into ``out``, in parallel where the OS can fork.

    Only notebooks not in the cache are rendered, and only they get workers.
    The exporter is built before the workers fork, so each inherits it instead
    of importing nbconvert again. Returns each notebook's cell ids by name.
    """
    jobs = [(ipynb, out / f"{ipynb.stem}.html", cache) for ipynb in notebooks]
    todo = [job for job in jobs if not _cached_html(job[0].read_bytes(), cache).is_file()]
    workers = min(len(todo), os.cpu_count() or 1)
    done = {}
    if workers >= 2 and "fork" in multiprocessing.get_all_start_methods():
        _exporter()
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            done = dict(zip((job[0].stem for job in todo), pool.map(render_notebook, *zip(*todo))))
    return {
        job[0].stem: done[job[0].stem] if job[0].stem in done else render_notebook(*job)
        for job in jobs
    }


def _write(build_dir: Path, out: Path) -> int:
    """Write the report into ``out``; return the number of failed or missing checks."""
    failures, sections, nb_links, seen = 0, [], [], {}
    entries = list(CLAIMS) + [
        e
        for e in BEYOND
        if (build_dir / "results" / f"{e.notebook}.json").is_file()
        or (build_dir / "notebooks" / f"{e.notebook}.ipynb").is_file()
    ]
    executed = dict.fromkeys(build_dir / "notebooks" / f"{e.notebook}.ipynb" for e in entries)
    rendered = render_all(
        [p for p in executed if p.is_file()], out / "notebooks", build_dir / ".cache" / "report"
    )
    for entry in entries:
        anchor, title, notebook, figures, text, beyond = (
            entry.anchor,
            entry.title,
            entry.notebook,
            entry.figures,
            entry.text,
            entry.beyond,
        )
        if beyond and not any(s.startswith("<h1") for s in sections):
            sections.append(
                '<h1 id="beyond">Beyond the paper</h1><p>Questions the paper does not answer, studied with the '
                "same rigour. These are not claims of the paper.</p>"
            )
        if notebook not in seen:
            res_path = build_dir / "results" / f"{notebook}.json"
            ipynb = build_dir / "notebooks" / f"{notebook}.ipynb"
            results = json.loads(res_path.read_text()) if res_path.is_file() else None
            cells = rendered.get(notebook, {})
            link = f"notebooks/{notebook}.html" if ipynb.is_file() else None
            # A notebook without results, or whose executed notebook is missing, did not finish:
            # its results (if any) may be from an earlier run, so it counts as a failure.
            failures += (results is None or not ipynb.is_file()) + (
                0 if results is None else sum(not c["holds"] for c in results["claims"])
            )
            seen[notebook] = (results, link, cells)
            nb_links.append(
                f'<li><a href="{link}">{notebook}</a></li>'
                if link
                else f'<li>{notebook}: <span class="bad">✗ did not finish</span> (see the make log)</li>'
            )
        results, link, cells = seen[notebook]
        figs = []
        for fig in figures:
            src = build_dir / "figures" / notebook / f"{fig}.png"
            if src.is_file():
                dest = out / "figures" / notebook / src.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)
                figs.append(
                    f'<figure><img src="figures/{notebook}/{src.name}" alt="{html.escape(fig)}">'
                    f"<figcaption>{html.escape(fig.replace('_', ' '))} "
                    f'(<a href="figures/{notebook}/{src.name}">PNG</a>)</figcaption></figure>'
                )
        if results is None:
            body = '<p class="banner fail">✗ no results: the notebook did not finish.</p>'
        else:
            body = checks_table(results, link, about=anchor, cells=cells) + provenance(results)
        sections.append(
            f'<section id="{anchor}"><h2>{html.escape(title)}</h2><p>{html.escape(text)}</p>'
            f'<p>From <a href="{link or "#"}">{notebook}</a>.</p>{"".join(figs)}'
            f"<h3>Checks</h3>{body}</section>"
        )
    banner = (
        '<p class="banner ok">✓ Every check holds.</p>'
        if failures == 0
        else f'<p class="banner fail">✗ {failures} check(s) failed or missing: see the ✗ rows below.</p>'
    )
    nav = "".join(
        f'<a href="#{c.anchor}">{c.title.split(".")[0]}. {c.anchor.replace("_", " ")}</a>'
        for c in CLAIMS
    )
    nav += (
        '<a href="#beyond">beyond the paper</a><a href="#sabotage">checks proven able to fail</a>'
    )
    nav += '<a href="#notebooks">executed notebooks</a>'
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>fa-companion: claims report</title><style>{_STYLE}</style></head>
<body>
<h1>fa-companion: claims report</h1>
<p>Executable companion to Garg &amp; Vempala, <i>How and When Random Feedback Works: A Case Study of Low-Rank Matrix
Factorization</i> (AISTATS 2022). Every number below was computed by the notebooks in this build and checked against
the stated threshold. The experiments are this companion's own designs, not reproductions of the paper's figures;
FA* is our definition (see README).</p>
{banner}
<nav>{nav}</nav>
{"".join(sections)}
<h2 id="sabotage">Checks proven able to fail</h2>
<p>Every check could have been a ✗. The claim notebooks were run on deliberately broken science, and these are the
checks that caught each breakage.</p>
{sabotage_table(Path(__file__).resolve().parents[1] / "docs" / "sabotage.json")}
<h2 id="notebooks">Executed notebooks</h2><ul>{"".join(nb_links)}</ul>
{_BROKEN_IMAGES_PROBE}
</body></html>
"""
    (out / "index.html").write_text(page)
    return failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build the offline claims report from a build folder.")
    ap.add_argument(
        "--build",
        type=Path,
        default=Path("build"),
        help="folder with results/, figures/, notebooks/",
    )
    ap.add_argument("--out", type=Path, default=None, help="report folder (default BUILD/report)")
    args = ap.parse_args(argv)
    try:
        index, failures = build(args.build, args.out)
    except OSError as exc:
        print(
            f"report: cannot write the report ({exc}); the previous report, if any, is untouched",
            file=sys.stderr,
        )
        return 2
    print(
        f"  report: {index}"
        + (f"   ✗ {failures} check(s) failed or missing" if failures else "   ✓ all checks hold")
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
