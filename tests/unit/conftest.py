# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit-test plumbing: make ``ansible_collections.vsp.encryption`` importable, ordered HTTP mocks,
in-process module runs, no real sleeping."""

import atexit
import base64
import json
import os
import shutil
import sys
import tempfile
import time

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _make_collection_importable():
    parts = REPO_ROOT.split(os.sep)
    if len(parts) >= 4 and parts[-3] == 'ansible_collections':
        # already checked out as .../ansible_collections/vsp/encryption (ansible-test units)
        root = os.sep.join(parts[:-3])
    else:
        root = tempfile.mkdtemp(prefix='vsp-encryption-unit-')
        atexit.register(shutil.rmtree, root, True)
        os.makedirs(os.path.join(root, 'ansible_collections', 'vsp'))
        os.symlink(REPO_ROOT, os.path.join(root, 'ansible_collections', 'vsp', 'encryption'))
    if root not in sys.path:
        sys.path.insert(0, root)


_make_collection_importable()

import responses  # noqa: E402
from ansible.module_utils import basic  # noqa: E402
try:  # ansible-core 2.19+
    from ansible.module_utils.testing import patch_module_args  # noqa: E402
except ImportError:  # ansible-core 2.16-2.18 (the oldest supported: make versions)
    import contextlib as _contextlib
    from unittest import mock as _mock

    @_contextlib.contextmanager
    def patch_module_args(args=None):
        """What ansible.module_utils.testing.patch_module_args does, for ansible-core before 2.19."""
        payload = json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}).encode()
        with _mock.patch.object(basic, '_ANSIBLE_ARGS', payload):
            yield
from responses import registries  # noqa: E402

HOST = 'vsp.example.com'
BASE = 'https://%s:443/ConfigurationManager' % HOST
PASSWORD = 'Conn-S3cret-pw'
TOKEN = 'd7b673af189048468c5af9bcf3bbbb6f'
SESSION_ID = 3
BACKUP_PASSWORD = 'Bkp#Pa55w0rd'
SECRETS = (PASSWORD, TOKEN, BACKUP_PASSWORD)
WRITE_METHODS = ('POST', 'PUT', 'PATCH', 'DELETE')


class AnsibleExitJson(Exception):
    def __init__(self, result):
        super().__init__('exit_json')
        self.result = result


class AnsibleFailJson(Exception):
    def __init__(self, result):
        super().__init__(result.get('msg'))
        self.result = result


def argspec_defaults():
    """Every connection option with the value the argument spec gives it when it is not set (its default, or None):
    what a module's ``params`` hold, so a ``VspClient`` built in a test gets what a module gives it."""
    from ansible_collections.vsp.encryption.plugins.module_utils._runner import connection_argument_spec
    return dict((name, spec.get('default')) for name, spec in connection_argument_spec().items())


def connection_args(**extra):
    args = argspec_defaults()
    args.update({'host': HOST, 'username': 'admin', 'password': PASSWORD, 'retries': 2, 'timeout': 30})
    args.update(extra)
    return args


def backup_args(**extra):
    """The module args of a file backup: the connection, the backup password and ``extra`` (an option given as None is left out)."""
    base = connection_args(backup_password=BACKUP_PASSWORD)
    base.update(extra)
    return dict((k, v) for k, v in base.items() if v is not None)


def job(job_id=1, status='Completed', state='Succeeded', error=None):
    body = {'jobId': job_id, 'self': '/ConfigurationManager/v1/objects/jobs/%d' % job_id, 'status': status, 'state': state,
            'request': {'requestUrl': '/x', 'requestMethod': 'POST', 'requestBody': '{"parameters": {"password": "%s"}}' % BACKUP_PASSWORD}}
    if error:
        body['error'] = error
    return body


def kart_error(message_id='KART30000-E', message='An error occurred in the storage system.', cause='The state is incorrect.',
               solution='Check the state.'):
    return {'errorSource': '/ConfigurationManager/v1/objects/x', 'messageId': message_id, 'message': message, 'cause': cause,
            'solution': solution, 'solutionType': 'SEE_ERROR_DETAIL', 'detailCode': '30000E-0'}


def ldev(ldev_id, status='NML', pool_id=0, pgs=('1-1',), pool_volume=True):
    attrs = ['CVS', 'POOL'] if pool_volume else ['CVS', 'HDP']
    body = {'ldevId': ldev_id, 'emulationType': 'OPEN-V-CVS', 'attributes': attrs, 'status': status,
            'parityGroupIds': list(pgs), 'numOfParityGroups': len(pgs)}
    if pool_volume:
        body['composingPoolId'] = pool_id
    else:
        body['poolId'] = pool_id
    return body


class Vsp(object):
    """Registers expected requests in order and runs modules in process."""

    def __init__(self, rsps):
        self.rsps = rsps

    # -- registration -------------------------------------------------------------------------------
    def add(self, method, path, status=200, json=None, body=None, headers=None, content_type=None):
        kwargs = {'status': status}
        if json is not None:
            kwargs['json'] = json
        if body is not None:
            kwargs['body'] = body
        if headers:
            kwargs['headers'] = headers
        if content_type:
            kwargs['content_type'] = content_type
        self.rsps.add(method, BASE + path, **kwargs)

    def login(self, token=TOKEN, session_id=SESSION_ID):
        self.add('POST', '/v1/objects/sessions', json={'token': token, 'sessionId': session_id})

    def logout(self, session_id=SESSION_ID):
        self.add('DELETE', '/v1/objects/sessions/%d' % session_id, json={})

    def get(self, path, json, status=200):
        self.add('GET', path, status=status, json=json)

    def storage(self, sid='900000061726'):
        self.get('/v1/objects/storages/instance', {'storageDeviceId': sid, 'model': 'VSP 5600', 'serialNumber': 61726})

    def keys(self, counts=None):
        counts = counts or {'DEK': 2, 'CEK': 1, 'KEK': 1, 'FREE': 3}
        for key_type in ('DEK', 'CEK', 'KEK', 'FREE'):
            data = [{'keyId': str(i), 'keyType': key_type, 'numOfBackups': 1,
                     'targetDeviceLocation': 'HDD00-%02d' % i if key_type == 'DEK' else '-'} for i in range(counts[key_type])]
            self.get('/v1/objects/encryption-keys', {'data': data})

    def coverage(self, lost=False):
        """The key coverage reads (GET parity-groups, GET drives): 1-1 (encrypted, drives HDD00-00 and HDD00-01, served by
        the DEKs 0 and 1 of :meth:`keys`), 2-1 (not encrypted) and, with ``lost``, 1-2 (encrypted, drive HDD00-10 that no
        DEK serves)."""
        groups = [{'parityGroupId': '1-1', 'isEncryptionEnabled': True}, {'parityGroupId': '2-1', 'isEncryptionEnabled': False}]
        drives = [{'driveLocationId': 'HDD00-00', 'parityGroupId': '1-1'}, {'driveLocationId': 'HDD00-01', 'parityGroupId': '1-1'},
                  {'driveLocationId': 'HDD01-00', 'parityGroupId': '2-1'}]
        if lost:
            groups.append({'parityGroupId': '1-2', 'isEncryptionEnabled': True})
            drives.append({'driveLocationId': 'HDD00-10', 'parityGroupId': '1-2'})
        self.get('/v1/objects/parity-groups', {'data': groups})
        self.get('/v1/objects/drives', {'data': drives})

    def before_backup(self, lost=False, counts=None):
        """What encryption_key_backup reads before a backup: the identity, the keys (:meth:`keys`) and the key coverage
        (:meth:`coverage`)."""
        self.storage()
        self.keys(counts)
        self.coverage(lost)

    def not_found(self, path):
        self.add('GET', path, status=404, json=kart_error('KART30013-E', 'Specified object does not exist. (ldevId = 1)', None, None))

    # -- inspection ---------------------------------------------------------------------------------
    @property
    def calls(self):
        return [(c.request.method, c.request.url.split('/ConfigurationManager', 1)[1]) for c in self.rsps.calls]

    def write_calls(self):
        """Write requests other than creating / deleting the module's own session."""
        return [(m, p) for m, p in self.calls if m in WRITE_METHODS and not p.startswith('/v1/objects/sessions')]

    # -- running modules ----------------------------------------------------------------------------
    def run(self, main, args, check_mode=False, diff=False):
        args = dict(args)
        if check_mode:
            args['_ansible_check_mode'] = True
        if diff:
            args['_ansible_diff'] = True
        with patch_module_args(args):
            try:
                main()
            except AnsibleExitJson as exc:
                return exc.result
        raise AssertionError('module did not exit')

    def fail(self, main, args, check_mode=False):
        args = dict(args)
        if check_mode:
            args['_ansible_check_mode'] = True
        with patch_module_args(args):
            with pytest.raises(AnsibleFailJson) as info:
                main()
        return info.value.result


def assert_no_secret(*things):
    for thing in things:
        text = thing if isinstance(thing, str) else json.dumps(thing, default=str)
        for secret in SECRETS:
            assert secret not in text
        assert base64.b64encode(('admin:%s' % PASSWORD).encode()).decode() not in text


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    """Patch ``time.sleep``; the recorded delays are available to tests."""
    slept = []
    monkeypatch.setattr(time, 'sleep', slept.append)
    return slept


@pytest.fixture(autouse=True)
def module_exits(monkeypatch):
    def exit_json(self, **kwargs):
        kwargs.setdefault('changed', False)
        raise AnsibleExitJson(kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs['msg'] = msg
        kwargs['failed'] = True
        raise AnsibleFailJson(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)


@pytest.fixture
def vsp():
    """Ordered HTTP mock: requests must come in the registered order and all must be consumed."""
    with responses.RequestsMock(registry=registries.OrderedRegistry, assert_all_requests_are_fired=True) as rsps:
        yield Vsp(rsps)


@pytest.fixture
def vsp_unordered():
    """HTTP mock for concurrent requests (any order, each registered response used once, all consumed)."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield Vsp(rsps)


class FakeModule(object):
    """The parts of an AnsibleModule that ``runner.run_module`` uses; records warnings."""

    def __init__(self, **params):
        self.params = connection_args(**params)
        self.warnings = []
        self.check_mode = False

    def warn(self, warning):
        self.warnings.append(warning)

    def exit_json(self, **kwargs):
        raise AnsibleExitJson(kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs['msg'] = msg
        kwargs['failed'] = True
        raise AnsibleFailJson(kwargs)


class SeqClock(object):
    """A monotonic clock that advances ``step`` seconds each time it is read (no real time passes)."""

    def __init__(self, step=1.0, start=1000.0):
        self.now = start
        self.step = step

    def __call__(self):
        self.now += self.step
        return self.now


class EdgeRng(object):
    """A random source whose ``uniform(a, b)`` returns ``a`` (low=True) or ``b``: exact back-off in tests."""

    def __init__(self, low=False):
        self.low = low

    def uniform(self, a, b):
        return a if self.low else b


@pytest.fixture
def fast_kdf(monkeypatch):
    """PBKDF2 with 1,000 iterations instead of 600,000 (manifest.KDF_ITERATIONS / MIN_ITERATIONS)."""
    from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as manifest
    monkeypatch.setattr(manifest, 'KDF_ITERATIONS', 1000)
    monkeypatch.setattr(manifest, 'MIN_ITERATIONS', 1000)
    return 1000


@pytest.fixture
def derivations(monkeypatch):
    """Every PBKDF2 derivation of the test, as ``(salt, iterations)`` (manifest.derive is counted, not replaced)."""
    from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as manifest
    calls = []
    real = manifest.derive

    def counting(password, salt, iterations):
        calls.append((salt, iterations))
        return real(password, salt, iterations)

    monkeypatch.setattr(manifest, 'derive', counting)
    return calls


@pytest.fixture
def env():
    """A Jinja environment with the collection's filters, as a role's template sees them (undefined is an error)."""
    import jinja2  # noqa: PLC0415 - only the filter tests need it
    from ansible_collections.vsp.encryption.plugins.filter.runbook import FilterModule  # noqa: PLC0415
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.filters.update(FilterModule().filters())
    return environment
