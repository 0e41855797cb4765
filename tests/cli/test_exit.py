"""The CLI's lighter exit (``cli._lighter_exit``, issue #21) loses nothing at exit.

After a command, Python's teardown collected the whole heap several times (≈0.5 s CPU after
``indicators compute``); the CLI now collects once and freezes what is left. What the
teardown used to finish must still be finished: temporary directories removed, buffered
files and standard output written out, SQLite connections closed (their WAL checkpointed
and removed), whether the objects holding them are garbage or still alive at exit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# objects in reference cycles: only the garbage collector frees them, so only it would
# run their finalizers (remove the folder, flush the file, close the connection)
SCRIPT = """
import atexit, gc, sys, tempfile
from sqlalchemy import text
from inclusive_cities.cli import main
from inclusive_cities.store import make_engine

class Held:
    def __init__(self, name):
        self.me = self
        self.folder = tempfile.TemporaryDirectory(prefix="exit-" + name + "-")
        self.out = open(sys.argv[1] + "/" + name + ".txt", "w")
        self.out.write(name * 100)  # stays in the file's buffer
        self.engine = make_engine("sqlite:///" + sys.argv[1] + "/" + name + ".db")
        with self.engine.begin() as connection:  # the pool keeps the connection open
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        print(self.folder.name)

KEPT = Held("kept")  # alive until the interpreter exits
Held("garbage")  # unreachable before the command runs
sys.stdout.write("end of output")  # a pipe: block-buffered, no newline
# registered before main() registers the CLI's handler, so it runs after it
atexit.register(lambda: print("frozen:", gc.get_freeze_count() > 0))
main(["--version"])
"""


def test_exit_loses_nothing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": ""},
    )
    assert done.returncode == 0, done.stderr
    folders = done.stdout.splitlines()[:2]
    assert done.stdout.startswith(f"{folders[0]}\n{folders[1]}\nend of output")
    assert "inclusive-cities" in done.stdout.splitlines()[-2]  # --version ran after it
    assert done.stdout.splitlines()[-1] == "frozen: True"  # the lighter exit ran
    for name, folder in zip(("kept", "garbage"), folders, strict=True):
        assert not Path(folder).exists(), f"the {name} temporary directory was left behind"
        assert (tmp_path / f"{name}.txt").read_text() == name * 100
        # a closed SQLite connection checkpoints its WAL and deletes it
        assert not (tmp_path / f"{name}.db-wal").exists(), f"the {name} connection stayed open"
    assert done.stderr == ""
