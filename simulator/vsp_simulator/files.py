"""Writing files safely: a file the simulator writes appears whole or not at all, with the mode
asked for (private by default), and no temporary file is left behind when writing fails."""

from __future__ import annotations

import contextlib
import os
import tempfile


def write_temp(directory, data, mode=0o600, prefix=".tmp-"):
    """The name of a new temporary file in ``directory`` holding ``data`` (bytes, or text written
    as UTF-8): its mode set to ``mode`` before anything is written (the umask plays no part), and
    synced to disk before it is returned. On any failure, an interrupt included, the file is
    removed and the error raised (text that cannot be encoded fails before a file exists)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=directory)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        discard(tmp)
        raise
    return tmp


def write_atomic(path, data, mode=0o600, prefix=".tmp-"):
    """Put a file holding ``data`` at ``path`` in one step: a reader sees the file that was there
    or the new one whole, never a part. Written as :func:`write_temp` in the directory of
    ``path``, then moved over it by :func:`os.replace`, which replaces a symbolic link at ``path``
    itself, never what it points to. On any failure ``path`` is as it was, no temporary file is
    left, and the error is raised."""
    tmp = write_temp(os.path.dirname(os.path.abspath(path)), data, mode=mode, prefix=prefix)
    try:
        os.replace(tmp, path)
    except BaseException:
        discard(tmp)
        raise


def discard(path):
    """Remove the file ``path`` if it is there: the clean-up after a failed write, so an error
    removing it is not raised over the failure that called for it."""
    with contextlib.suppress(OSError):
        os.unlink(path)
