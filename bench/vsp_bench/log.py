"""The bench's progress lines on stdout."""

from __future__ import annotations

def log(msg):
    print("bench: %s" % msg, flush=True)

