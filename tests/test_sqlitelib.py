"""sqlitelib.py: SQLite's memory statistics off, so that threads running SQL do not queue on one
process-wide mutex (issue 5: the export's threads)."""

import subprocess
import sys


def test_sqlite_threads_stop_queueing_in_a_fresh_process(tmp_path):
    """sqlitelib.unshare_allocator() turns SQLite's memory statistics off before anything is
    opened (then SQLite works as before), and refuses while a connection is open."""
    probe = (
        "import sqlite3\n"
        "from insurtrack import sqlitelib\n"
        "held = sqlite3.connect(':memory:')\n"
        "refused = sqlitelib.unshare_allocator()\n"
        "held.close()\n"
        "done = sqlitelib.unshare_allocator()\n"
        "rows = sqlite3.connect(':memory:').execute('SELECT printf(\"%d\", 42)').fetchall()\n"
        "print(refused, done, sqlitelib.threads_scale(), rows)\n")
    got = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60)
    assert got.returncode == 0, got.stderr
    if sys.platform == "darwin":
        assert got.stdout.split()[:3] == ["False", "False", "False"]
    else:
        assert got.stdout.strip() == "False True True [('42',)]"
