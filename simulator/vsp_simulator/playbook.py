"""The playbook runner: ``ansible-playbook`` as a child process, the one way the suites start it.

The reliability, official and ecosystem suites and the benchmark run ``ansible-playbook`` through
:func:`run_playbook`: the venv's ``ansible-playbook``, a clean environment (:func:`environment`:
``clean_env`` with no ``VSP_*`` / ``ANSIBLE_*`` from outside, plus the suite's own variables), the
output captured (or written to files), a timeout; or, with ``popen=True``, the process while it
runs (the reliability suite kills a simulator mid-run). ::

    proc = run_playbook("vsp.encryption.backup_encryption_keys", inventory,
                        extra_vars={"encryption_key_backup_password": pw},
                        vars_file=work / "extra.json",
                        env={"ANSIBLE_COLLECTIONS_PATH": collections}, cwd=work)
    assert proc.returncode == 0, proc.stdout[-4000:]

    running = run_playbook(path, inventory, popen=True, stdout_path=out, stderr_path=err)
    sim.control.await_log(condition, running=running)   # poll() tells whether it still runs
    done = running.finish(240)                          # a CompletedProcess, output read back

A command line a test takes verbatim from the docs or from a run's output (a pasted resume line, a
crontab line, a systemd ExecStart line) goes through ``command=``: it runs exactly as written, in
``environ`` (cron's or systemd's environment) or the clean one.

Secrets: extra variables passed as a mapping go on the command line as JSON (``-e '{...}'``), or,
with ``vars_file``, into that file only (created 0600) as ``-e @file``; nothing else is written
but the output files the caller names and the ``record`` file (the command line and the output).
"""

from __future__ import annotations

import json
import os
import subprocess

from .harness import ANSIBLE_QUIET, bin_dir, clean_env

__all__ = ["PlaybookProcess", "environment", "playbook_command", "run_playbook"]

TIMEOUT = 300  # seconds: only a run gone wrong takes that long


def environment(environ=None, **extra):
    """The environment of an ``ansible-playbook`` child: :func:`~vsp_simulator.harness.clean_env`
    of ``environ`` (no ``VSP_*``, no ``ANSIBLE_*``, the venv's bin first on ``PATH``), no colours
    and no noise (``ANSIBLE_QUIET``), plus ``extra`` (the suite's own variables)."""
    return clean_env(environ, **dict(ANSIBLE_QUIET, **extra))


def playbook_command(playbook, inventory=None, extra_vars=None, vars_file=None, args=()):
    """``[<venv>/ansible-playbook, -i inventory, playbook, -e ..., *args]``. ``playbook``: a path or
    an FQCN. ``extra_vars``: a mapping, as JSON on the command line, or (with ``vars_file``) written
    to that file, 0600, and passed as ``-e @vars_file``; a string is passed as ``-e <string>``."""
    cmd = [os.path.join(bin_dir(), "ansible-playbook")]
    if inventory is not None:
        cmd += ["-i", str(inventory)]
    cmd.append(str(playbook))
    if extra_vars is not None:
        if isinstance(extra_vars, str):
            cmd += ["-e", extra_vars]
        elif vars_file is not None:
            write_private(vars_file, json.dumps(extra_vars, indent=1))
            cmd += ["-e", "@" + str(vars_file)]
        else:
            cmd += ["-e", json.dumps(extra_vars)]
    elif vars_file is not None:
        raise ValueError("vars_file without extra_vars")
    return cmd + [str(a) for a in args]


def write_private(path, text):
    """Write ``text`` to ``path``, a file readable by its owner only from its creation on."""
    path = str(path)
    if os.path.exists(path):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


class PlaybookProcess:
    """A running ``ansible-playbook`` (``run_playbook(..., popen=True)``): the ``Popen`` (``proc``),
    its output files, and :meth:`finish` for the result."""

    def __init__(self, proc, files, record=None):
        self.proc = proc
        self.files = files  # the open output files (stdout, stderr or None)
        self.record = record

    @property
    def args(self):
        return self.proc.args

    @property
    def pid(self):
        return self.proc.pid

    @property
    def returncode(self):
        return self.proc.returncode

    def poll(self):
        return self.proc.poll()

    def wait(self, timeout=None):
        return self.proc.wait(timeout)

    def kill(self):
        self.proc.kill()

    def finish(self, timeout=TIMEOUT):
        """Wait (at most ``timeout`` seconds), close the output files and return a
        ``CompletedProcess`` with the output read back from them."""
        self.proc.wait(timeout)
        texts = []
        for handle in self.files:
            if handle is None:
                texts.append("")
                continue
            handle.close()
            with open(handle.name, errors="replace") as reread:
                texts.append(reread.read())
        done = subprocess.CompletedProcess(self.proc.args, self.proc.returncode, *texts)
        _record(self.record, done)
        return done


def _record(path, proc):
    """For a person reading a failure: the command line, then the output."""
    if path is not None:
        args = proc.args if isinstance(proc.args, str) else " ".join(proc.args)
        with open(str(path), "w") as handle:
            handle.write(args + "\n" + (proc.stdout or "") + (proc.stderr or ""))


def run_playbook(playbook=None, inventory=None, *, extra_vars=None, vars_file=None, args=(),
                 command=None, env=None, environ=None, cwd=None, timeout=TIMEOUT, popen=False,
                 stdout_path=None, stderr_path=None, record=None):
    """Run ``ansible-playbook``; a ``subprocess.CompletedProcess`` (text output), whatever the
    outcome, or with ``popen`` a running :class:`PlaybookProcess`.

    ``playbook``, ``inventory``, ``extra_vars``, ``vars_file``, ``args``: the command line
    (:func:`playbook_command`). ``command``: instead, a command line given verbatim (an argv list),
    run as written. ``environ``: the whole environment of the child, used as it is (cron's, or one
    the caller built); default :func:`environment`. ``env``: variables added to it (the suite's
    own: ``ANSIBLE_COLLECTIONS_PATH``...). ``cwd``: its working directory. ``timeout``: seconds
    (``subprocess.TimeoutExpired`` past it; with ``popen``, :meth:`PlaybookProcess.finish` takes
    its own). ``stdout_path`` / ``stderr_path``: the output goes to these files (stderr into
    stdout's file when only ``stdout_path`` is given), else it is captured; ``popen`` needs
    ``stdout_path``. ``record``: a file to write the command line and the output to once the run
    ended (for a person reading a failure).
    """
    if command is not None:
        if playbook is not None or inventory is not None or extra_vars is not None or args:
            raise ValueError("a command runs verbatim: "
                             "no playbook, inventory, extra_vars or args with it")
        cmd = list(command)
    elif playbook is None:
        raise ValueError("a playbook or a command is needed")
    else:
        cmd = playbook_command(playbook, inventory, extra_vars, vars_file, args)
    run_env = dict(environ) if environ is not None else environment()
    run_env.update(env or {})
    cwd = None if cwd is None else str(cwd)
    if stdout_path is None:
        if popen:
            raise ValueError("popen needs stdout_path: a pipe nobody reads would stall the run")
        proc = subprocess.run(cmd, env=run_env, cwd=cwd, capture_output=True, text=True,  # noqa: S603
                              timeout=timeout, check=False)
        _record(record, proc)
        return proc
    out = open(str(stdout_path), "w")  # noqa: SIM115 - closed by finish()
    err = open(str(stderr_path), "w") if stderr_path is not None else None  # noqa: SIM115
    running = PlaybookProcess(
        subprocess.Popen(cmd, env=run_env, cwd=cwd, stdout=out,  # noqa: S603 - our own command line
                         stderr=err if err is not None else subprocess.STDOUT, text=True),
        (out, err), record)
    if popen:
        return running
    try:
        return running.finish(timeout)
    except subprocess.TimeoutExpired:
        running.kill()
        running.wait()
        raise
