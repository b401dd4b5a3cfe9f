"""The companion's build tooling, kept apart from the science in ``fa_core``.

Modules:

- ``catalog``: the one source of each claim's title, explanation and figures,
  read by the report, the README gallery and the docs tool;
- ``notebook``: what a notebook calls at its top (parameters actually used,
  output folders) and its checks (:class:`~companion.claims.Claims`);
- ``claims``: checked claims and the results JSON;
- ``figures``: the figure style, byte-stable figure files and repeated figure idioms;
- ``data``: the real data set shipped in ``companion/data/`` (the digits), checksum-verified;
- ``pipeline``: executes a jupytext notebook with papermill (``make``);
- ``warm``: ``make``'s notebooks forked, kernels included, from one process
  that has imported the libraries once;
- ``report``: the offline HTML claims report (``make report``);
- ``docs``: refreshes ``docs/`` and the README gallery (``make docs``).

``fa_core`` never imports this package.
"""

# Set by the pipeline for the kernel: the parameters the user passed, which quick sizes must not override.
EXPLICIT_ENV = "FA_COMPANION_EXPLICIT_PARAMETERS"

# jsonschema (under nbformat, papermill, jupytext and nbconvert) compiles a grammar for
# the "iri" string format at import, 0.7 s, whenever the optional rfc3987-syntax is
# installed, as Jupyter's own dependencies install it. No notebook schema uses that
# format, so the build tools import jsonschema as if the option were absent (its
# supported fallback): every pipeline, report and sabotage process starts 0.7 s sooner.
import sys as _sys  # noqa: E402

_sys.modules.setdefault("rfc3987_syntax", None)
