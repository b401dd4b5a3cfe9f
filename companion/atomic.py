"""Files that appear whole or not at all: written under a temporary name, then renamed.

A reader (make, the report, a second build) never sees a half-written file: the
rename is atomic. A temporary name is a hidden sibling that names the process
writing it, ``.NAME.PID<suffix>``, so two processes never share one and the
leftovers of a killed run can be told from a live run's files and removed.
"""

from __future__ import annotations

import contextlib
import glob
import os
from collections.abc import Iterator
from pathlib import Path


def temporary_path(path: Path, suffix: str = ".part") -> Path:
    """A hidden sibling of ``path`` that no other process uses: ``.NAME.PID<suffix>``."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}{suffix}")


@contextlib.contextmanager
def written_whole(path: Path, suffix: str = ".part") -> Iterator[Path]:
    """Yield a temporary file to write in place of ``path``; rename it to ``path`` if the block ends normally.

    For files, not folders. If the block raises, ``path`` is left as it was
    and the temporary file is removed. Temporaries of ``path`` that killed runs
    left are removed first.

    Parameters
    ----------
    path : Path
        The file to write.
    suffix : str, default=".part"
        The temporary file's suffix (papermill, for one, wants ``.ipynb``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_temporaries(path)
    tmp = temporary_path(path, suffix)
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def remove_abandoned_temporaries(path: Path) -> list[Path]:
    """Remove the temporary files of ``path`` left by runs that were killed; return them.

    A temporary file names the process that made it (:func:`temporary_path`);
    it is abandoned once that process no longer exists.
    """
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*"):
        pid = tmp.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and tmp.is_file() and not _process_exists(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
