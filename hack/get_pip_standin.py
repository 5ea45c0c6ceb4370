"""Offline stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test downloads get-pip from a host that is not reachable from this project's machines and
caches it as ~/.ansible/test/cache/get_pip_<X_Y>.py. This file is installed there by noxfile.py (_pip_standin):
it bootstraps pip from the interpreter's own ensurepip, then installs the packages ansible-test asks
for (e.g. pip==25.2) from the package index.
"""
import subprocess
import sys

GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}


def main():
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q"] + args)


if __name__ == "__main__":
    main()
