"""The companion's build tooling, kept apart from the science in ``fa_core``.

Modules:

- ``catalog``: the one source of each claim's title, explanation and figures,
  read by the report, the README gallery and the docs tool;
- ``notebook``: what a notebook calls at its top (parameters actually used,
  output folders) and its checks (:class:`~companion.claims.Claims`), and the
  quick sizes of each notebook (``notebooks/quick/``);
- ``claims``: checked claims and the results JSON;
- ``figures``: the figure style, byte-stable figure files and repeated figure idioms;
- ``data``: the real data set shipped in ``companion/data/`` (the digits), checksum-verified;
- ``atomic``: files written whole under a temporary name, then renamed;
- ``pipeline``: executes a jupytext notebook with papermill (``make``, ``make run``);
- ``lock``: runs a command holding a build folder's lock (two ``make`` in one clone wait);
- ``report``: the offline HTML claims report (``make report``);
- ``docs``: refreshes ``docs/`` and the README gallery (``make docs``).

``fa_core`` never imports this package.
"""
