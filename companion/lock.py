"""Run a command while holding a lock file: two builds of one folder wait for each other.

    python -m companion.lock build/quick/.lock make executed

The lock is an exclusive ``fcntl.flock`` on the file, taken before the command
starts and held by the command itself (this process becomes it, and the lock's
file descriptor is inherited), so it is released however the command ends,
SIGKILL included. A second build of the same folder waits, then finds the
notebooks the first one made up to date.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        sys.exit("usage: python -m companion.lock LOCKFILE COMMAND [ARG ...]")
    lock = Path(argv[0])
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"waiting for another build of {lock.parent} to finish", file=sys.stderr, flush=True)
        fcntl.flock(fd, fcntl.LOCK_EX)
    os.set_inheritable(fd, True)
    os.execvp(argv[1], argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
