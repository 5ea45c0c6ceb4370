# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the array sends is checked before use; paging must advance; the key file must be a key file."""

import pytest
from conftest import BACKUP_PASSWORD, connection_args, ldev

from ansible_collections.vsp.encryption.plugins.module_utils import _api as api_mod
from ansible_collections.vsp.encryption.plugins.module_utils._api import VspApi
from ansible_collections.vsp.encryption.plugins.module_utils._client import VspClient
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError, clean_json

BACKUP = '/v1/objects/encryption-keys/file/actions/backup/invoke'
KEYS = '/v1/objects/encryption-keys'
UNUSED = 'The array sent an unexpected value, it was not used: '


def run(vsp, call, **extra):
    """Log in, run ``call(api)``, log out; returns the result or the VspApiError."""
    with VspClient(connection_args(**extra)) as client:
        try:
            return call(VspApi(client))
        except VspApiError as exc:
            return exc


def expect(vsp, *responses):
    vsp.login()
    for method, path, kwargs in responses:
        vsp.add(method, path, **kwargs)
    vsp.logout()


# -- storage identity -------------------------------------------------------------------------------
@pytest.mark.parametrize('sid', ['../../escape', '*', '900000061726,9', '90000006172', '900000061726\n', 900000061726.0, None,
                                 '９００００００６１７２６'])
def test_storage_device_id_of_instance_is_checked(vsp, sid):
    expect(vsp, ('GET', '/v1/objects/storages/instance', {'json': {'storageDeviceId': sid, 'serialNumber': 1}}))
    exc = run(vsp, lambda api: api.storage())
    assert isinstance(exc, VspApiError)
    assert str(exc).startswith(UNUSED + 'storageDeviceId: %s is not a storage device id; the rule: 12 digits' % repr(clean_json(sid))[:80])


def test_storage_device_id_accepted_as_text_or_integer(vsp):
    expect(vsp, ('GET', '/v1/objects/storages/instance', {'json': {'storageDeviceId': '900000061726'}}),
           ('GET', '/v1/objects/storages/instance', {'json': {'storageDeviceId': 886000123456}}))
    assert run(vsp, lambda api: [api.storage(), api.storage()]) == [{'storageDeviceId': '900000061726'},
                                                                    {'storageDeviceId': 886000123456}]


def test_storage_list_ids_are_checked(vsp):
    expect(vsp, ('GET', '/v1/objects/storages', {'json': {'data': [{'storageDeviceId': '900000061726'},
                                                                   {'storageDeviceId': '*'}]}}))
    exc = run(vsp, lambda api: api.storage(), storage_device_id='900000061726')
    assert str(exc) == UNUSED + "storageDeviceId: '*' is not a storage device id; the rule: 12 digits, for example 936000412345"


def test_user_storage_device_id_is_checked_before_a_request(vsp):
    with VspClient(connection_args(storage_device_id='../x')) as client:
        with pytest.raises(VspApiError) as info:
            VspApi(client)
    assert str(info.value).startswith("storage_device_id: '../x' is not a storage device id")
    assert vsp.calls == []


# -- keys -------------------------------------------------------------------------------------------
@pytest.mark.parametrize('key_id', ['../1', '1,2', '4096', '-1', '07', ' 7', '7\n', '', None, True, 1.5, '٧'])
def test_key_ids_are_checked(vsp, key_id):
    expect(vsp, ('GET', KEYS, {'json': {'data': [{'keyId': '0', 'keyType': 'KEK'}, {'keyId': key_id, 'keyType': 'KEK'}]}}))
    exc = run(vsp, lambda api: api.list_keys('KEK'))
    assert isinstance(exc, VspApiError)
    assert str(exc).startswith(UNUSED + 'keyId: %r is not a key id; the rule: an integer from 0 to 4095' % (clean_json(key_id),))


def test_key_ids_as_the_array_sends_them(vsp):
    keys = [{'keyId': '0'}, {'keyId': '4095'}, {'keyId': 17}]
    expect(vsp, ('GET', KEYS, {'json': {'data': keys}}))
    assert run(vsp, lambda api: api.list_keys('CEK')) == keys


def full_page(start, count=1024, same=False):
    return {'json': {'data': [{'keyId': str(start if same else start + i), 'keyType': 'FREE'} for i in range(count)]}}


def test_key_paging_reads_four_pages_and_stops_at_the_last_id(vsp):
    expect(vsp, *[('GET', KEYS, full_page(p * 1024)) for p in range(4)])
    keys = run(vsp, lambda api: api.list_keys('FREE'))
    assert len(keys) == 4096
    urls = [c.request.url for c in vsp.rsps.calls if '/encryption-keys' in c.request.url]
    assert urls[0].endswith('?keyType=FREE')
    assert [u.split('startKeyId=')[1].split('&')[0] for u in urls[1:]] == ['1024', '2048', '3072']


def test_key_paging_that_ignores_the_start_is_an_error(vsp):
    """Before: the same page again and again, forever (1.5 GB in 25 s)."""
    expect(vsp, ('GET', KEYS, full_page(0)), ('GET', KEYS, full_page(0)))
    exc = run(vsp, lambda api: api.list_keys('DEK'))
    assert isinstance(exc, VspApiError)
    assert 'the array ignored the page start (startKeyId=1024 answered keyId 0)' in str(exc)


def test_key_paging_stops_at_the_page_limit(vsp):
    """Pages that advance by one id (1,024 copies of one key each) end after 5 pages (4 documented + 1)."""
    expect(vsp, *[('GET', KEYS, full_page(p, same=True)) for p in range(5)])
    exc = run(vsp, lambda api: api.list_keys('FREE'))
    assert isinstance(exc, VspApiError)
    assert str(exc) == 'GET %s: the array sent more than 5 pages of FREE keys; it holds at most 4096 keys' % KEYS
    assert api_mod.KEY_MAX_PAGES == 5


def test_cek_and_kek_are_not_paged(vsp):
    expect(vsp, ('GET', KEYS, full_page(0)))
    assert len(run(vsp, lambda api: api.list_keys('CEK'))) == 1024


# -- LDEVs, pools, parity groups --------------------------------------------------------------------
@pytest.mark.parametrize('field, value, name', [
    ('ldevId', '../5', 'ldevId'),
    ('ldevId', 65280, 'ldevId'),
    ('ldevId', None, 'ldevId'),
    ('composingPoolId', '0/../1', 'composingPoolId of LDEV 1'),
    ('composingPoolId', 128, 'composingPoolId of LDEV 1'),
    ('parityGroupIds', ['..'], 'parityGroupIds of LDEV 1'),
    ('parityGroupIds', ['1-1', '*'], 'parityGroupIds of LDEV 1'),
    ('parityGroupIds', '1-1', 'parityGroupIds of LDEV 1'),
])
def test_ldev_fields_are_checked(vsp, field, value, name):
    bad = dict(ldev(1), **{field: value})
    expect(vsp, ('GET', '/v1/objects/ldevs', {'json': {'data': [ldev(0), bad]}}))
    exc = run(vsp, lambda api: api.list_ldevs(pool_id=0))
    assert isinstance(exc, VspApiError)
    assert str(exc).startswith(UNUSED + '%s: %r is not ' % (name, value if not isinstance(value, list) else value[-1]))


def test_get_ldev_is_checked(vsp):
    expect(vsp, ('GET', '/v1/objects/ldevs/1', {'json': dict(ldev(1), poolId='x')}))
    exc = run(vsp, lambda api: api.get_ldev(1))
    assert str(exc).startswith(UNUSED + "poolId of LDEV 1: 'x' is not a pool id")


def test_ldev_paging_that_ignores_the_start_is_an_error(vsp):
    page = {'json': {'data': [ldev(i) for i in range(16384)]}}
    expect(vsp, ('GET', '/v1/objects/ldevs', page), ('GET', '/v1/objects/ldevs', page))
    exc = run(vsp, lambda api: api.list_ldevs(parity_group_id='1-1'))
    assert 'the array ignored the page start (headLdevId=16384 answered ldevId 0)' in str(exc)


def test_ldev_paging_stops_at_the_page_limit(vsp):
    pages = [{'json': {'data': [ldev(p)] * 16384}} for p in range(5)]
    expect(vsp, *[('GET', '/v1/objects/ldevs', page) for page in pages])
    exc = run(vsp, lambda api: api.list_ldevs(pool_id=0))
    assert str(exc) == 'GET /v1/objects/ldevs: the array sent more than 5 pages of LDEVs; it holds at most 65280'


def test_ldev_paging_ends_at_the_last_ldev_id(vsp):
    last = {'json': {'data': [ldev(i) for i in range(65279 - 16383, 65280)]}}
    expect(vsp, ('GET', '/v1/objects/ldevs', {'json': {'data': [ldev(i) for i in range(16384)]}}), ('GET', '/v1/objects/ldevs', last))
    assert len(run(vsp, lambda api: api.list_ldevs(pool_id=0))) == 2 * 16384


@pytest.mark.parametrize('value', ['../0', -1, 128, '0x1', None])
def test_pool_ids_are_checked(vsp, value):
    expect(vsp, ('GET', '/v1/objects/pools', {'json': {'data': [{'poolId': 0}, {'poolId': value}]}}))
    exc = run(vsp, lambda api: api.list_pools())
    assert str(exc).startswith(UNUSED + 'poolId: %r is not a pool id' % (value,))


def test_get_pool_and_parity_group_are_checked(vsp):
    expect(vsp, ('GET', '/v1/objects/pools/3', {'json': {'poolId': '3 '}}),
           ('GET', '/v1/objects/parity-groups/1-1', {'json': {'parityGroupId': '1-1/../..'}}),
           ('GET', '/v1/objects/parity-groups', {'json': {'data': [{'parityGroupId': '.'}]}}),
           ('GET', '/v1/objects/drives', {'json': {'data': [{'driveLocationId': 'HDD00-00', 'parityGroupId': '..'}]}}))
    results = run(vsp, lambda api: [_exc(api.get_pool, 3), _exc(api.get_parity_group, '1-1'), _exc(api.list_parity_groups),
                                    _exc(api.list_drives)])
    assert [str(r).split(': ', 1)[1] for r in results] == [
        "poolId: '3 ' is not a pool id; the rule: an integer from 0 to 127",
        "parityGroupId: '1-1/../..' is not a parity group id; the rule: <number>-<number>, for example 1-1 (E<number>-<number> "
        "for an external one)",
        "parityGroupId: '.' is not a parity group id; the rule: <number>-<number>, for example 1-1 (E<number>-<number> for an external one)",
        "parityGroupId of a drive: '..' is not a parity group id; the rule: <number>-<number>, for example 1-1 (E<number>-<number> "
        "for an external one)",
    ]


def test_external_parity_group_of_a_pool_volume_is_accepted(vsp):
    """A pool volume on an external volume lists its external parity group (E1-1); looking it up finds none."""
    expect(vsp, ('GET', '/v1/objects/ldevs', {'json': {'data': [ldev(1, pgs=('E1-1',))]}}),
           ('GET', '/v1/objects/parity-groups/E1-1', {'status': 404, 'json': {'messageId': 'KART30013-E'}}))
    assert run(vsp, lambda api: [len(api.list_ldevs(pool_id=0)), api.get_parity_group('E1-1')]) == [1, None]


def _exc(func, *args):
    try:
        func(*args)
    except VspApiError as exc:
        return exc
    raise AssertionError('no error')


@pytest.mark.parametrize('call', [
    lambda api: api.get_parity_group('..'),
    lambda api: api.get_parity_group('.'),
    lambda api: api.list_ldevs(parity_group_id='1-1/../../sessions'),
    lambda api: api.list_drives('../x'),
    lambda api: api.get_ldev('1/actions'),
    lambda api: api.get_pool(-1),
    lambda api: api.change_ldev_status('..', 'blk'),
])
def test_ids_given_to_the_api_are_checked_before_a_request(vsp, call):
    with VspClient(connection_args()) as client:
        with pytest.raises(VspApiError):
            call(VspApi(client))
    assert vsp.calls == []


# -- the key file -----------------------------------------------------------------------------------
@pytest.mark.parametrize('content_type, shown', [('application/json', "'application/json'"), ('text/html; charset=utf-8', "'text/html; charset=utf-8'"),
                                                 ('application/octet-stream\x1b[2J', "'application/octet-stream [2J'")])
def test_key_file_must_be_octet_stream(vsp, content_type, shown):
    """Before: a JSON answer to the download was saved as a "key file" with a matching manifest."""
    expect(vsp, ('POST', BACKUP, {'body': b'{"jobId": 1}', 'content_type': content_type}))
    exc = run(vsp, lambda api: api.backup_keys_to_file(BACKUP_PASSWORD))
    assert isinstance(exc, VspApiError)
    assert str(exc) == ('POST %s: the array answered Content-Type %s, not application/octet-stream; this is not a key file '
                        'and nothing was saved (HTTP 200)' % (BACKUP, shown))


def test_key_file_without_content_type_is_refused(vsp):
    vsp.login()
    vsp.rsps.add('POST', 'https://vsp.example.com:443/ConfigurationManager' + BACKUP, body=b'xx', content_type=None)
    vsp.logout()
    exc = run(vsp, lambda api: api.backup_keys_to_file(BACKUP_PASSWORD))
    assert 'answered Content-Type none, not application/octet-stream' in str(exc)


def test_key_file_octet_stream_with_parameters_is_accepted(vsp):
    expect(vsp, ('POST', BACKUP, {'body': b'\x00key', 'content_type': 'Application/Octet-Stream; name=keys.ekf'}))

    def call(api):
        response = api.backup_keys_to_file(BACKUP_PASSWORD)
        try:
            return b''.join(response.iter_content(chunk_size=1024))
        finally:
            response.close()

    assert run(vsp, call) == b'\x00key'


def test_array_text_in_answers_is_cleaned_before_it_reaches_a_result(vsp):
    """An ESC or a forged line in any text of an answer (here a key's fields, keys of the object too) is made harmless."""
    dirty = {'keyId': '3', 'keyType': 'DEK', 'targetDeviceLocation': 'HDD00-01\x1b[2J\r\nok: [vsp]', 'x\x1b]0;t\x07': 'y' * 900,
             'numOfBackups': 2, 'list': ['a\u202eb', None, True]}
    expect(vsp, ('GET', KEYS, {'json': {'data': [dirty]}}))
    key = run(vsp, lambda api: api.list_keys('CEK'))[0]
    assert key['targetDeviceLocation'] == 'HDD00-01 [2J  ok: [vsp]'
    assert key['x ]0;t '] == 'y' * 500 + '...'
    assert key['numOfBackups'] == 2 and key['list'] == ['a b', None, True]


@pytest.mark.parametrize('text, cleaned', [('p' * 600, 'p' * 500 + '...'), ('HDD00-01\x7f', 'HDD00-01 '), ('\u00e9t\u00e9', '\u00e9t\u00e9'),
                                           ('HDD00-01', 'HDD00-01')])
def test_each_kind_of_text_is_cleaned_or_kept(vsp, text, cleaned):
    expect(vsp, ('GET', KEYS, {'body': '{\n  "data" : [ {\n    "keyId" : "1",\n    "uuid" : "%s"\n  } ]\n}' % text,
                               'content_type': 'application/json'}))
    assert run(vsp, lambda api: api.list_keys('KEK')) == [{'keyId': '1', 'uuid': cleaned}]


def test_dp_volume_paging_must_advance(vsp):
    page = {'json': {'data': [dict(ldev(i, pool_volume=False)) for i in range(16384)]}}
    expect(vsp, ('GET', '/v1/objects/ldevs', page), ('GET', '/v1/objects/ldevs', page))
    exc = run(vsp, lambda api: api.list_dp_volumes(3))
    assert 'the array ignored the page start (headLdevId=16384 answered ldevId 0)' in str(exc)
    assert vsp.rsps.calls[1].request.url.endswith('/v1/objects/ldevs?ldevOption=dpVolume&poolId=3&count=16384')
