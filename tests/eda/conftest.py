"""Fixtures of the rulebook tests (issue #29): the installed collection, a simulator per test.

The collection comes from ANSIBLE_COLLECTIONS_PATH (`make eda` copies it there, as `make collection` does); without
it, a copy of the checkout's collection files is made here. Its python is imported from that installed copy, as
ansible-rulebook's event source imports it.
"""
import atexit
import os
import shutil
import subprocess
import tempfile
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _installed_collection(tmp_root):
    path = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)[0]
    if path and os.path.isdir(os.path.join(path, "ansible_collections", "vsp", "encryption")):
        return path
    dest = os.path.join(tmp_root, "ansible_collections", "vsp", "encryption")
    os.makedirs(dest)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True, capture_output=True,
                           text=True).stdout.split("\n")
    for name in files:
        if not name or name.split("/")[0] in ("simulator", "bench", "hack", ".ci") or not os.path.isfile(os.path.join(ROOT, name)):
            continue
        os.makedirs(os.path.dirname(os.path.join(dest, name)), exist_ok=True)
        with open(os.path.join(ROOT, name), "rb") as src, open(os.path.join(dest, name), "wb") as out:
            out.write(src.read())
    return tmp_root


COLLECTIONS = None


def pytest_configure(config):
    global COLLECTIONS
    root = tempfile.mkdtemp(prefix="vsp-eda-collections-")
    atexit.register(shutil.rmtree, root, True)
    COLLECTIONS = _installed_collection(root)
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS
    if COLLECTIONS not in sys.path:
        sys.path.append(COLLECTIONS)


@pytest.fixture
def collections_path():
    return COLLECTIONS
