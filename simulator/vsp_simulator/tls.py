"""TLS: a test CA made by trustme; ca.pem written for clients."""

from __future__ import annotations

import os
import ssl

import trustme

from . import files

HOSTS = ("localhost", "127.0.0.1", "::1")


def make_ssl_context(cert_dir, extra_hosts=()):
    """A server SSLContext signed by a fresh CA; ``<cert_dir>/ca.pem`` is the CA for clients.

    ca.pem is the only file written to ``cert_dir`` (mode 0600: the clients run as the same user).
    The server's private key is never written there: trustme hands it to the context through a
    0600 temporary file of the system's temporary directory, removed once it is loaded."""
    os.makedirs(cert_dir, exist_ok=True)
    ca = trustme.CA(organization_name="vsp-simulator test CA")
    wildcard = {"", "::", "0.0.0." + "0"}
    hosts = list(HOSTS) + [h for h in extra_hosts if h not in HOSTS and h not in wildcard]
    cert = ca.issue_cert(*hosts)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    cert.configure_cert(ctx)
    files.write_atomic(os.path.join(cert_dir, "ca.pem"), ca.cert_pem.bytes(), mode=0o600)
    return ctx
