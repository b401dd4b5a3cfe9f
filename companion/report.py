"""Build the static claims report: one page per build, working offline.

    python -m companion.report --build build          # writes build/report/index.html
    python -m companion.report --page build/notebooks/x.ipynb build/pages/x.html   # one page

``make report`` renders each executed notebook's page as a make target of its
own, then builds the report, which takes each page from BUILD/pages/ when it is
newer than its notebook and renders it otherwise.

The report shows, for every notebook of the catalog, whether its results are
✓ current (produced by the sources as they are now, from a clean tree, every
check holding), ✗ failed, ✗ did not finish, ✗ unreadable, ✗ no checks, or
stale (produced by other sources, or by uncommitted changes to its sources).
Then each claim with its figures and explanation, the table of its checks
(with links to the cell that computed them), the parameters, package versions
and provenance, the sabotage matrix, and the executed notebooks rendered to
HTML by nbconvert with the project's own template (``companion/templates``),
which loads nothing from the network. Exit status 1 unless every notebook is
✓ current, after the report is written.

Not an algorithm module: this one does file I/O.
"""

from __future__ import annotations

import argparse
import functools
import html
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from . import claims
from .atomic import temporary_path, written_whole
from .catalog import BEYOND, CLAIMS, SECTIONS, Section, notebooks

TEMPLATES = Path(__file__).parent / "templates"
CURRENT = "✓ current"
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
.stale{color:#8a6d00;font-weight:700}
details{margin:.5em 0} code{background:#f4f4f4;padding:0 .2em}
nav a{margin-right:1em}
"""


class ResultsError(ValueError):
    """A results file that cannot be read; the message is one line naming the file."""


@dataclass(frozen=True)
class Status:
    """What the report can say about one notebook's results.

    Attributes
    ----------
    notebook : str
    label : str
        ``"✓ current"``, ``"✗ failed"``, ``"✗ did not finish"``,
        ``"✗ unreadable results"``, ``"✗ no checks"`` or ``"stale"``.
    reason : str
        One line on why, empty when current.
    results : dict or None
        The results JSON, when it could be read.
    """

    notebook: str
    label: str
    reason: str = ""
    results: dict | None = None

    @property
    def current(self) -> bool:
        return self.label == CURRENT

    def line(self) -> str:
        """``name: label (reason)``, for the one-line summary."""
        return f"{self.notebook} {self.label}" + (f" ({self.reason})" if self.reason else "")


def read_results(path: Path) -> dict:
    """The results JSON at ``path``; :class:`ResultsError` naming the file if it is not one."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise ResultsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not text.strip():
        raise ResultsError(f"{path}: empty file")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: truncated or corrupt JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("claims"), list):
        raise ResultsError(f"{path}: not a results file (no list of claims)")
    keys = ("claim", "value", "op", "threshold", "holds")
    for i, check in enumerate(doc["claims"]):
        if not isinstance(check, dict) or any(k not in check for k in keys):
            raise ResultsError(f"{path}: check {i} lacks one of {', '.join(keys)}")
    return doc


def notebook_status(build_dir: Path, notebook: str, root: Path = claims.ROOT) -> Status:
    """Whether ``notebook``'s results in ``build_dir`` are current, and if not, why.

    Current means: its results file reads, has at least one check, records
    the digest of the sources as they are now in ``root``
    (:func:`companion.claims.source_digest`), every check holds, its executed
    notebook exists, and its sources were committed when it ran. The label
    is the first of these that fails.
    """
    path = Path(build_dir) / "results" / f"{notebook}.json"
    executed = (Path(build_dir) / "notebooks" / f"{notebook}.ipynb").is_file()
    if not path.exists():
        return Status(
            notebook,
            "✗ did not finish",
            "no results" + ("" if executed else " and no executed notebook"),
        )
    try:
        results = read_results(path)
    except ResultsError as exc:
        return Status(notebook, "✗ unreadable results", str(exc))
    checks = results["claims"]
    if not checks:
        return Status(notebook, "✗ no checks", "its results record no check", results)
    made = results.get("provenance")
    if not isinstance(made, dict) or "source_digest" not in made:
        return Status(notebook, "stale", "no provenance recorded", results)
    commit = made.get("commit") or "no commit"
    if made["source_digest"] != claims.source_digest([notebook], root):
        return Status(notebook, "stale", f"produced by other sources, at {commit}", results)
    failed = sum(not c["holds"] for c in checks)
    if failed:
        return Status(notebook, "✗ failed", f"{failed} of {len(checks)} checks failed", results)
    if not executed:
        return Status(notebook, "✗ did not finish", "no executed notebook", results)
    if made.get("dirty"):
        return Status(
            notebook,
            "stale",
            f"produced by uncommitted changes to its sources, at {commit}",
            results,
        )
    return Status(notebook, CURRENT, "", results)


def section_text(section: Section, measured: dict) -> str:
    """What ``section`` says, as the report and the README gallery show it.

    ``measured`` is the ``measured`` block of the results of the section's
    notebook (empty when there are none: the template is then shown unfilled).
    """
    try:
        return section.text_for(measured)
    except (KeyError, TypeError, ValueError):
        return section.text


def render_page(ipynb: Path, dest: Path) -> Path:
    """Executed notebook → its offline HTML page at ``dest``, written in full and then renamed.

    ``make report`` renders each page as a target of its own (BUILD/pages/NAME.html), so
    make re-renders only the notebooks that changed, and two at a time.
    """
    import nbformat

    body, _ = _exporter().from_notebook_node(nbformat.read(ipynb, as_version=4))
    with written_whole(dest) as tmp:
        tmp.write_text(body)
    return Path(dest)


def code_cell_ids(ipynb: Path) -> dict:
    """The ids of an executed notebook's code cells, by execution count (the checks link to them)."""
    import nbformat

    nb = nbformat.read(ipynb, as_version=4)
    return {c.get("execution_count"): c.get("id") for c in nb.cells if c.cell_type == "code"}


@functools.cache
def _exporter():
    """nbconvert's HTML exporter with the project's template (its templates compile once)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="fa_report", extra_template_basedirs=[str(TEMPLATES)])


def _fmt(x) -> str:
    return f"{x:.4g}" if isinstance(x, (int, float)) else html.escape(str(x))


def _mark(holds: bool, current: bool) -> str:
    if not current:
        return f'<span class="stale" title="from results that are not current">({"✓" if holds else "✗"})</span>'
    return '<span class="pass">✓</span>' if holds else '<span class="bad">✗</span>'


def checks_table(
    results: dict,
    link: str | None,
    about: str | None = None,
    cells: dict | None = None,
    current: bool = True,
) -> str:
    """The checks of one notebook, or only those that support section ``about``.

    Each check links to the rendered notebook at the cell that computed it
    (``cells`` maps execution counts to cell ids) and shows its ``kind`` where
    recorded. Checks of results that are not ``current`` are marked in brackets.
    """
    rows = []
    for c in results["claims"]:
        if about is not None and c.get("about", results.get("notebook")) != about:
            continue
        claim = html.escape(c["claim"])
        if link:
            cell = (cells or {}).get(c.get("cell"))
            claim = f'<a href="{link}{f"#cell-id={cell}" if cell else ""}">{claim}</a>'
        note = f"<br><small>{html.escape(c['note'])}</small>" if c.get("note") else ""
        rows.append(
            f"<tr><td>{_mark(c['holds'], current)}</td><td>{claim}{note}</td>"
            f"<td>{html.escape(c.get('kind') or '')}</td><td class='num'>{_fmt(c['value'])}</td>"
            f'<td class="num">{html.escape(str(c["op"]))} {_fmt(c["threshold"])}</td></tr>'
        )
    return (
        "<table><tr><th></th><th>claim checked</th><th>kind</th><th>measured</th><th>threshold</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def sabotage_table(path: Path) -> str:
    """The sabotage matrix of ``make sabotage``: which breakage turns which check ✗.

    ``path`` holds ``{"breakages": {name: description}, "checks": [{"notebook",
    "check", "kind", "caught_by": [names]}]}``. One row per breakage, one column
    per notebook the checks come from; each cell opens to the checks it caught.
    Then one row per check, with the breakages that catch it.
    """
    if not path.is_file():
        return "<p>No sabotage matrix: run <code>make sabotage</code>.</p>"
    try:
        matrix = json.loads(path.read_text())
        breakages, checks = matrix["breakages"], matrix["checks"]
        columns = list(dict.fromkeys(c["notebook"] for c in checks))
        by_check = [
            (c["notebook"], c["check"], c.get("kind"), list(c["caught_by"])) for c in checks
        ]
    except (ValueError, KeyError, TypeError) as exc:
        return (
            f'<p class="bad">{html.escape(str(path.name))} is not a sabotage matrix '
            f"({html.escape(type(exc).__name__)}: {html.escape(str(exc))}): run <code>make sabotage</code>.</p>"
        )
    head = "".join(f"<th>{html.escape(n.replace('_', ' '))}</th>" for n in columns)
    rows = []
    for name, description in breakages.items():
        cells = []
        for notebook in columns:
            caught = [
                (check, kind) for nb, check, kind, by in by_check if nb == notebook and name in by
            ]
            if not caught:
                cells.append('<td class="num">·</td>')
                continue
            detail = "<br>".join(
                html.escape(check) + (f" <i>({html.escape(kind)})</i>" if kind else "")
                for check, kind in caught
            )
            cells.append(
                f'<td class="num"><details><summary class="pass">{len(caught)} ✗</summary>'
                f"<small>{detail}</small></details></td>"
            )
        rows.append(
            f"<tr><td>{html.escape(description)} <code>{html.escape(name)}</code></td>{''.join(cells)}</tr>"
        )
    per_check = "".join(
        f"<tr><td>{html.escape(nb)}</td><td>{html.escape(check)}</td><td>{html.escape(kind or '')}</td>"
        + (
            f"<td>{', '.join(f'<code>{html.escape(b)}</code>' for b in by)}</td></tr>"
            if by
            else f'<td class="{"bad" if kind == "law" else ""}">none</td></tr>'
        )
        for nb, check, kind, by in by_check
    )
    return (
        f"<table><tr><th>breakage</th>{head}</tr>{''.join(rows)}</table>"
        "<p><small>Each cell: how many of that notebook's checks turn ✗ when the notebooks run at quick size on "
        "the broken code (· = none). Open a cell for the checks.</small></p>"
        "<details><summary>Every check and the breakages that catch it</summary>"
        "<table><tr><th>notebook</th><th>check</th><th>kind</th><th>caught by</th></tr>"
        f"{per_check}</table></details>"
    )


def provenance(results: dict) -> str:
    """The parameters, package versions and provenance of one notebook's results, folded."""
    params = "".join(
        f"<tr><td><code>{html.escape(k)}</code></td><td class='num'>{html.escape(json.dumps(v))}</td></tr>"
        for k, v in results.get("params", {}).items()
    )
    about = {**results.get("environment", {}), **results.get("provenance", {})}
    env = ", ".join(f"{html.escape(k)} {html.escape(str(v))}" for k, v in about.items())
    return (
        f"<details><summary>Parameters (seed {html.escape(str(results.get('params', {}).get('seed', '?')))}) "
        f"and environment</summary><table>{params}</table><p><small>{env}</small></p></details>"
    )


def build(
    build_dir: Path, out: Path | None = None, sabotage: Path | None = None
) -> tuple[Path, list[Status]]:
    """Write the report; return its index path and the status of every notebook."""
    build_dir = Path(build_dir)
    final = Path(out) if out else build_dir / "report"
    out = temporary_path(final, ".tmp")  # written in full, then swapped in
    shutil.rmtree(out, ignore_errors=True)
    try:
        (out / "notebooks").mkdir(parents=True)
        statuses = _write(build_dir, out, sabotage or claims.ROOT / "docs" / "sabotage.json")
        old = temporary_path(final, ".old")
        if final.exists():
            final.rename(old)
        out.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return final / "index.html", statuses


def summary(statuses: list[Status]) -> str:
    """One line: every notebook current, or which are not and why."""
    bad = [s for s in statuses if not s.current]
    if not bad:
        return f"✓ all checks hold, all {len(statuses)} notebooks current"
    return f"✗ {len(bad)} of {len(statuses)} notebooks not ✓ current: " + "; ".join(
        s.line() for s in bad
    )


def _status_cell(status: Status) -> str:
    cls = "pass" if status.current else "stale" if status.label == "stale" else "bad"
    reason = f" <small>({html.escape(status.reason)})</small>" if status.reason else ""
    return f'<span class="{cls}">{html.escape(status.label)}</span>{reason}'


def _write(build_dir: Path, out: Path, sabotage: Path) -> list[Status]:
    """Write the report into ``out``; return the status of every notebook."""
    statuses = {name: notebook_status(build_dir, name) for name in notebooks()}
    cells, links = {}, {}
    for name in statuses:
        ipynb = build_dir / "notebooks" / f"{name}.ipynb"
        if ipynb.is_file():
            # The page make rendered (``make report``), if it was rendered from this very notebook
            page = build_dir / "pages" / f"{name}.html"
            dest = out / "notebooks" / f"{name}.html"
            if page.is_file() and page.stat().st_mtime >= ipynb.stat().st_mtime:
                shutil.copyfile(page, dest)
            else:
                render_page(ipynb, dest)
            cells[name] = code_cell_ids(ipynb)
            links[name] = f"notebooks/{name}.html"
    sections = []
    for entry in SECTIONS:
        if entry is BEYOND[0]:
            sections.append(
                '<h1 id="beyond">Beyond the paper</h1><p>Questions the paper does not answer, studied with the '
                "same rigour. These are not claims of the paper.</p>"
            )
        status = statuses[entry.notebook]
        link = links.get(entry.notebook)
        figs = []
        for fig in entry.figures:
            src = build_dir / "figures" / entry.notebook / f"{fig}.png"
            if src.is_file():
                dest = out / "figures" / entry.notebook / src.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)
                caption = fig.replace("_", " ")
                figs.append(
                    f'<figure><img src="figures/{entry.notebook}/{src.name}" '
                    f'alt="{html.escape(f"Figure {caption} of: {entry.title}")}">'
                    f"<figcaption>{html.escape(caption)} "
                    f'(<a href="figures/{entry.notebook}/{src.name}">PNG</a>)</figcaption></figure>'
                )
        results = status.results
        body = f"<p>{_status_cell(status)}</p>"
        if results is not None:
            body += checks_table(
                results,
                link,
                about=entry.anchor,
                cells=cells.get(entry.notebook),
                current=status.current,
            )
            body += provenance(results)
        text = section_text(entry, (results or {}).get("measured", {}))
        sections.append(
            f'<section id="{entry.anchor}"><h2>{html.escape(entry.title)}</h2><p>{html.escape(text)}</p>'
            f'<p>From <a href="{link or "#notebooks"}">{entry.notebook}</a>.</p>{"".join(figs)}'
            f"<h3>Checks</h3>{body}</section>"
        )
    ordered = list(statuses.values())
    ok = all(s.current for s in ordered)
    banner = f'<p class="banner {"ok" if ok else "fail"}">{html.escape(summary(ordered))}</p>'
    table = "".join(
        f'<tr><td><a href="{links.get(s.notebook, "#notebooks")}">{s.notebook}</a></td>'
        f"<td>{_status_cell(s)}</td></tr>"
        for s in ordered
    )
    nav = "".join(
        f'<a href="#{c.anchor}">{c.title.split(".")[0]}. {c.anchor.replace("_", " ")}</a>'
        for c in CLAIMS
    )
    nav += (
        '<a href="#beyond">beyond the paper</a><a href="#sabotage">checks proven able to fail</a>'
    )
    nav += '<a href="#notebooks">executed notebooks</a>'
    nb_links = "".join(
        f'<li><a href="{links[s.notebook]}">{s.notebook}</a></li>'
        if s.notebook in links
        else f"<li>{s.notebook}: {_status_cell(s)}</li>"
        for s in ordered
    )
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
<table id="status"><tr><th>notebook</th><th>results</th></tr>{table}</table>
<p><small>✓ current: produced by the sources as they are now (the science, the notebook, the tooling it runs with
and the pinned versions), committed, with every check holding. Stale: produced by other sources or by uncommitted
changes; its checks are shown in brackets. Rebuild with <code>make</code>.</small></p>
<nav>{nav}</nav>
{"".join(sections)}
<h2 id="sabotage">Checks proven able to fail</h2>
<p>Every check could have been a ✗. The claim notebooks were run on deliberately broken science, and these are the
checks that caught each breakage.</p>
{sabotage_table(sabotage)}
<h2 id="notebooks">Executed notebooks</h2><ul>{nb_links}</ul>
</body></html>
"""
    (out / "index.html").write_text(page)
    return ordered


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build the offline claims report from a build folder.")
    ap.add_argument(
        "--build",
        type=Path,
        default=Path("build"),
        help="folder with results/, figures/, notebooks/",
    )
    ap.add_argument("--out", type=Path, default=None, help="report folder (default BUILD/report)")
    ap.add_argument(
        "--sabotage",
        type=Path,
        default=None,
        help="the sabotage matrix (default docs/sabotage.json of the repository)",
    )
    ap.add_argument(
        "--page",
        nargs=2,
        type=Path,
        metavar=("IPYNB", "HTML"),
        help="only render one executed notebook's page (make does this for every notebook)",
    )
    args = ap.parse_args(argv)
    if args.page:
        render_page(*args.page)
        return 0
    try:
        index, statuses = build(args.build, args.out, args.sabotage)
    except OSError as exc:
        print(
            f"report: cannot write the report ({exc}); the previous report, if any, is untouched",
            file=sys.stderr,
        )
        return 2
    print(f"  report: {index}   {summary(statuses)}")
    return 0 if all(s.current for s in statuses) else 1


if __name__ == "__main__":
    sys.exit(main())
