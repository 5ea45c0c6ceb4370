"""TLS: a test CA made by trustme; ca.pem written for clients."""

from __future__ import annotations

import os
import ssl
import tempfile

import trustme

HOSTS = ("localhost", "127.0.0.1", "::1")


def _write_atomic(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def make_ssl_context(cert_dir, extra_hosts=()):
    """A server SSLContext signed by a fresh CA; ``<cert_dir>/ca.pem`` is the CA for clients."""
    os.makedirs(cert_dir, exist_ok=True)
    ca = trustme.CA(organization_name="vsp-simulator test CA")
    wildcard = {"", "::", "0.0.0." + "0"}
    hosts = list(HOSTS) + [h for h in extra_hosts if h not in HOSTS and h not in wildcard]
    cert = ca.issue_cert(*hosts)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    cert.configure_cert(ctx)
    _write_atomic(os.path.join(cert_dir, "ca.pem"), ca.cert_pem.bytes())
    return ctx
