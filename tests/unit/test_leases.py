"""When is a run's owner gone? (the rule every process on a data dir applies before taking work over)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta

from preclinical.store.leases import owner_gone, wall_clock

HOST = socket.gethostname()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_owner_rules():
    now = wall_clock()
    fresh, stale = now + timedelta(seconds=20), now - timedelta(seconds=1)
    parent = os.getppid()  # a process that certainly exists, and is not this one
    assert owner_gone(None, None)  # nobody owns it (released at a clean shutdown, or made before leases)
    assert owner_gone(f"{HOST}:{parent}:ab12", stale)  # stopped renewing
    assert not owner_gone(f"{HOST}:{parent}:ab12", fresh)  # alive and renewing: follow, never replay
    assert owner_gone(f"{HOST}:{dead_pid()}:ab12", fresh)  # kill -9 on this host: no need to wait for expiry
    assert not owner_gone("elsewhere.example:1:ab12", fresh)  # another machine: trust its lease
    assert owner_gone("elsewhere.example:1:ab12", stale)
    assert owner_gone(f"{HOST}:{os.getpid()}:old1", fresh, me=f"{HOST}:{os.getpid()}:new2")  # an earlier runtime here
    assert not owner_gone(f"{HOST}:{os.getpid()}:new2", fresh, me=f"{HOST}:{os.getpid()}:new2")
    assert owner_gone(f"{HOST}:{parent}:ab12", stale.isoformat(" "))  # as read back from the database
