"""The ``vsp-simulator`` command."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile

from werkzeug.serving import WSGIRequestHandler, make_server

from . import capture as capture_mod
from . import files
from . import scenario as scenario_mod
from .app import create_app
from .simulator import Simulator
from .tls import make_ssl_context


class QuietHandler(WSGIRequestHandler):
    """No access log: nothing of a request (query strings, headers) reaches the log.

    HTTP/1.1, so connections are kept alive between requests as an array's REST server does;
    clients that reuse a connection (the collection's client does) save a TLS handshake per request.
    """

    protocol_version = "HTTP/1.1"

    def log_request(self, code="-", size="-"):
        return None

    def log_error(self, fmt, *args):
        # werkzeug's error lines carry only the method and path, never headers or bodies
        sys.stderr.write("vsp-simulator: " + (fmt % args) + "\n")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="vsp-simulator",
                                description="A stateful simulator of the VSP block REST API.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    p.add_argument("--tls", dest="tls", action="store_true", default=True,
                   help="serve HTTPS with a trustme test CA (default)")
    p.add_argument("--no-tls", dest="tls", action="store_false", help="serve plain HTTP")
    p.add_argument("--cert-dir", default=None,
                   help="where ca.pem is written (default: a new temporary directory)")
    p.add_argument("--scenario", default=None, help="scenario YAML file (default: built in)")
    p.add_argument("--capture", default=None, metavar="FILE",
                   help="serve a twin of a real array: a capture written by "
                        "vsp.encryption.array_capture (not with --scenario); its fidelity "
                        "report is written beside it (FILE without .json, plus .fidelity.md "
                        "and .fidelity.json)")
    p.add_argument("--fidelity-report", default=None, metavar="PATH",
                   help="with --capture: write the fidelity report to PATH.md and PATH.json "
                        "instead (a .md or .json suffix given is dropped; a directory gets the "
                        "default names)")
    p.add_argument("--latency-ms", type=int, default=0, help="sleep before each array request")
    p.add_argument("--job-ms", type=int, default=1000, help="duration of each job (default 1000)")
    p.add_argument("--job-parallelism", type=int, default=4,
                   help="jobs running at once; the others are Queued (default 4)")
    p.add_argument("--port-file", default=None,
                   help="write the port here (atomically) once listening")
    p.add_argument("--state-file", default=None,
                   help="save the array state here after each change; load it at start")
    args = p.parse_args(argv)
    for name in ("latency_ms", "job_ms"):
        if getattr(args, name) < 0:
            p.error(f"--{name.replace('_', '-')} must be >= 0")
    if args.job_parallelism < 1:
        p.error("--job-parallelism must be >= 1")
    if args.capture and args.scenario:
        p.error("--capture and --scenario exclude each other: a twin's array is the captured one")
    if args.fidelity_report and not args.capture:
        p.error("--fidelity-report needs --capture FILE: only a twin has a fidelity report")
    return args


def _write_port(path, port):
    """Write ``port`` to ``path`` in one step, so a reader (the harness) never sees a part of it."""
    files.write_atomic(path, f"{port}\n", prefix=".port-")


def _on_term(*_):
    raise KeyboardInterrupt


def load(args):
    """The simulator the parsed ``args`` ask for. A twin (``--capture``) prints its fidelity
    report and writes it beside the capture (or where ``--fidelity-report`` says) first; every
    refusal raises (OSError, ValueError or KeyError) before anything listens."""
    scn = scenario_mod.load_file(args.scenario) if args.scenario else None
    if args.capture:
        scn = scenario_mod.merge({"capture": capture_mod.read_raw(args.capture)})
    if scn is not None:
        built = scenario_mod.build_state(scn)
        if "twin" in built:
            print(capture_mod.report_text(built["twin"]["fidelity"]), flush=True)
            if args.capture:
                base = capture_mod.report_base(args.capture, args.fidelity_report)
                md, js = capture_mod.write_report(built["twin"], base, capture_path=args.capture)
                print(f"vsp-simulator: twin fidelity report: {md} (and {js}); attach it to an "
                      "issue if a difference matters", flush=True)
    return Simulator(scn, state_file=args.state_file, latency_ms=args.latency_ms,
                     job_ms=args.job_ms, job_parallelism=args.job_parallelism)


def main(argv=None):
    args = parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    try:
        simulator = load(args)
    except (OSError, ValueError, KeyError) as exc:
        print(f"vsp-simulator: {exc}", file=sys.stderr)
        return 2
    app = create_app(simulator)
    ssl_ctx = None
    if args.tls:
        cert_dir = args.cert_dir or tempfile.mkdtemp(prefix="vsp-simulator-")
        ssl_ctx = make_ssl_context(cert_dir, extra_hosts=(args.host,))
    server = make_server(args.host, args.port, app, threaded=True, ssl_context=ssl_ctx,
                         request_handler=QuietHandler)
    port = server.socket.getsockname()[1]
    if args.port_file:
        _write_port(args.port_file, port)
    scheme = "https" if args.tls else "http"
    print(f"vsp-simulator: serving {scheme}://{args.host}:{port}/ConfigurationManager"
          + (f" (CA: {os.path.join(cert_dir, 'ca.pem')})" if args.tls else ""), flush=True)
    signal.signal(signal.SIGTERM, _on_term)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
