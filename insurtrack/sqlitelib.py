"""The SQLite library under Python's sqlite3 module: settings of the whole process.

Light on purpose (nothing imported at the top): cli/app.py calls it before anything else runs.
"""

from __future__ import annotations

import sys

_STATISTICS = [True]  # whether SQLite counts its allocations (see unshare_allocator)


def unshare_allocator() -> bool:
    """Turn SQLite's memory statistics off for this process (SQLITE_CONFIG_MEMSTATUS).

    With them on — the default of the library Python's sqlite3 module uses on most systems —
    every allocation of every connection takes one process-wide mutex to count itself, so
    threads running SQL at the same time wait on each other: two threads rendering an export
    (reports/export.py) each ran three times slower than one alone, and one alone ran some 15%
    slower than with the statistics off. Nothing in insurtrack reads them (sqlite3_memory_used,
    sqlite3_status; no soft heap limit).

    SQLite takes the setting only between sqlite3_shutdown() and sqlite3_initialize(), which
    must not run while it holds anything — it does not check: done only when the statistics
    count no memory in use (no connection is open). cli/app.py main() calls this first thing
    for `export`. True when SQLite's threads do not queue on the statistics (now or already);
    False where this could not be done (the library's functions out of ctypes' reach, SQLite
    in use), and nothing changed."""
    import ctypes
    import sqlite3  # noqa: F401  (loads _sqlite3 and the library it is linked with)

    if not _STATISTICS[0]:
        return True
    if sys.platform == "darwin":  # ctypes passes variadic arguments where arm64 does not
        return False
    try:
        lib = ctypes.CDLL(sys.modules["_sqlite3"].__file__)
        used, option = lib.sqlite3_memory_used, lib.sqlite3_compileoption_used
        shutdown, config, initialize = (lib.sqlite3_shutdown, lib.sqlite3_config,
                                        lib.sqlite3_initialize)
    except (OSError, AttributeError, KeyError):
        return False
    used.restype = ctypes.c_int64
    if option(b"DEFAULT_MEMSTATUS=0"):  # built without them
        _STATISTICS[0] = False
        return True
    if used() != 0:  # a connection is open (or was left unclosed)
        return False
    if shutdown() != 0:
        return False
    done = config(ctypes.c_int(9), ctypes.c_int(0)) == 0  # SQLITE_CONFIG_MEMSTATUS: off
    if initialize() != 0:
        raise RuntimeError("SQLite could not be initialised again")
    if done:
        _STATISTICS[0] = False
    return done


def threads_scale() -> bool:
    """Whether threads running SQLite at the same time each go at full speed in this process
    (unshare_allocator() has run)."""
    return not _STATISTICS[0]
