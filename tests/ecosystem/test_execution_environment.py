"""execution-environment.yml: `ansible-builder create` turns it into a build context, offline."""
import os
import shutil

import yaml
from ecosystem_helpers import BIN, ROOT, clean_env, run


def test_ansible_builder_create(tarball, tmp_path):
    # the layout of the repository after `make galaxy-build`, without the rest of the tree
    work = tmp_path / "repo"
    (work / ".build" / "dist").mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, "execution-environment.yml"), str(work))
    shutil.copy(os.path.join(ROOT, "requirements.txt"), str(work))
    shutil.copy(str(tarball), str(work / ".build" / "dist"))
    context = tmp_path / "context"
    # any network access would go to a dead proxy and fail
    env = clean_env(HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="",
                    http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", no_proxy="")
    run([os.path.join(BIN, "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", str(context),
         "--output-filename", "Containerfile"], env=env, cwd=str(work))

    containerfile = (context / "Containerfile").read_text()
    assert "ansible-core==2.21.5" in containerfile
    assert "--offline --no-deps" in containerfile
    assert (context / "_build" / "collections" / tarball.name).is_file()
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert galaxy["collections"] == [{"name": "/build/collections/vsp-encryption.tar.gz", "type": "file"}]
    assert "requests" in (context / "_build" / "requirements.txt").read_text()
    assert "mv /build/collections/vsp-encryption-*.tar.gz /build/collections/vsp-encryption.tar.gz" in containerfile
