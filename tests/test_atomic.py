"""Files written whole: a reader sees the old file or the new one, never part of one."""

import os
import subprocess

import pytest

from companion import atomic


@pytest.mark.parametrize("stop", [RuntimeError, KeyboardInterrupt])
def test_a_file_written_whole_replaces_the_old_only_when_the_writing_succeeds(tmp_path, stop):
    path = tmp_path / "results" / "r.json"
    path.parent.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    path.with_name(f".r.json.{dead.pid}.part").write_text("a killed run's")
    with atomic.written_whole(path) as tmp:
        tmp.write_text("first")
    assert os.listdir(path.parent) == ["r.json"]
    with pytest.raises(stop), atomic.written_whole(path) as tmp:
        tmp.write_text("half")
        raise stop("stopped mid-write")
    assert path.read_text() == "first" and os.listdir(path.parent) == ["r.json"]
