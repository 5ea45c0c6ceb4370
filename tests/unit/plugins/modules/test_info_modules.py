# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from conftest import assert_no_secret, connection_args, ldev

from ansible_collections.vsp.encryption.plugins.modules import encryption_key_info, pool_volume_info


def expect_all_groups(vsp):
    """GET parity-groups (1-1, 1-2 encrypted, 2-1 not) and GET drives, as coverage of every group reads them."""
    vsp.get('/v1/objects/parity-groups', {'data': [{'parityGroupId': '1-2', 'isEncryptionEnabled': True},
                                                   {'parityGroupId': '1-1', 'isEncryptionEnabled': True},
                                                   {'parityGroupId': '2-1', 'isEncryptionEnabled': False}]})
    vsp.get('/v1/objects/drives', {'data': [{'driveLocationId': 'HDD00-00', 'parityGroupId': '1-1'},
                                            {'driveLocationId': 'HDD00-01', 'parityGroupId': '1-1'},
                                            {'driveLocationId': 'HDD00-10', 'parityGroupId': '1-2'},
                                            {'driveLocationId': 'HDD01-00', 'parityGroupId': '2-1'},
                                            {'driveLocationId': 'HDD09-99'}]})


def test_key_info(vsp):
    vsp.login()
    vsp.keys()  # DEKs serve HDD00-00 and HDD00-01
    vsp.storage()
    expect_all_groups(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_info.main, connection_args())
    assert result['changed'] is False
    assert result['key_counts'] == {'DEK': 2, 'CEK': 1, 'KEK': 1, 'FREE': 3}
    assert result['encryption_keys']['DEK'][0]['numOfBackups'] == 1
    assert result['storage']['serial_number'] == 61726
    assert [g['parity_group_id'] for g in result['parity_groups']] == ['1-1', '1-2']
    assert result['lost_parity_groups'] == ['1-2']
    assert result['lost_drives'] == ['HDD00-10']
    assert 'GET drives' in result['coverage_evidence']
    assert vsp.write_calls() == []
    assert vsp.rsps.calls[-2].request.url.endswith('/v1/objects/drives')  # one read of every drive, not one per group
    assert_no_secret(result)


def test_key_info_no_group_lost(vsp):
    vsp.login()
    vsp.get('/v1/objects/encryption-keys', {'data': [{'keyId': str(i), 'keyType': 'DEK', 'targetDeviceLocation': loc}
                                                     for i, loc in enumerate(['HDD00-00', 'HDD00-01', 'HDD00-10'])]})
    vsp.storage()
    expect_all_groups(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_info.main, connection_args(key_types=['DEK']))
    assert result['lost_parity_groups'] == [] and result['lost_drives'] == []
    assert [g['keys_lost'] for g in result['parity_groups']] == [False, False]
    assert 'key_fingerprint' not in result


def test_key_info_without_dek_type_still_reads_deks_for_coverage(vsp):
    vsp.login()
    vsp.get('/v1/objects/encryption-keys', {'data': [{'keyId': '1', 'keyType': 'CEK', 'targetDeviceLocation': '-'}]})
    vsp.storage()
    vsp.get('/v1/objects/encryption-keys', {'data': [{'keyId': '0', 'keyType': 'DEK', 'targetDeviceLocation': 'HDD00-00'}]})
    expect_all_groups(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_info.main, connection_args(key_types=['CEK']))
    assert result['key_counts'] == {'CEK': 1}
    assert result['lost_parity_groups'] == ['1-1', '1-2']
    assert result['lost_drives'] == ['HDD00-01', 'HDD00-10']
    assert 'keyType=DEK' in vsp.rsps.calls[3].request.url


def test_key_info_coverage_off(vsp):
    vsp.login()
    vsp.keys()
    vsp.storage()
    vsp.logout()
    result = vsp.run(encryption_key_info.main, connection_args(coverage=False))
    assert 'parity_groups' not in result and 'lost_parity_groups' not in result


def test_key_info_parity_groups_as_survey_text(vsp):
    vsp.login()
    vsp.get('/v1/objects/encryption-keys', {'data': [{'keyId': '0', 'keyType': 'DEK', 'targetDeviceLocation': 'HDD00-00'}]})
    vsp.storage()
    vsp.get('/v1/objects/parity-groups/1-1', {'parityGroupId': '1-1', 'isEncryptionEnabled': True})
    vsp.get('/v1/objects/parity-groups/1-2', {'parityGroupId': '1-2', 'isEncryptionEnabled': True})
    vsp.get('/v1/objects/drives', {'data': [{'driveLocationId': 'HDD00-00', 'parityGroupId': '1-1'}]})
    vsp.get('/v1/objects/drives', {'data': [{'driveLocationId': 'HDD00-10', 'parityGroupId': '1-2'}]})
    vsp.logout()
    result = vsp.run(encryption_key_info.main, connection_args(key_types=['DEK'], parity_groups='1-1, 1-2'))
    assert [g['parity_group_id'] for g in result['parity_groups']] == ['1-1', '1-2']
    assert result['lost_parity_groups'] == ['1-2']


def test_key_info_bad_parity_group_refused_before_any_request(vsp):
    result = vsp.fail(encryption_key_info.main, connection_args(parity_groups=['1-1', '1_2']))
    assert "parity_groups: '1_2' is not a parity group id" in result['msg']
    assert vsp.calls == []


def test_key_coverage_reports_lost_keys(vsp):
    vsp.login()
    vsp.get('/v1/objects/encryption-keys', {'data': [{'keyId': '0', 'keyType': 'DEK', 'targetDeviceLocation': 'HDD00-00'}]})
    vsp.storage()
    vsp.get('/v1/objects/parity-groups/1-1', {'parityGroupId': '1-1', 'isEncryptionEnabled': True})
    vsp.get('/v1/objects/parity-groups/2-1', {'parityGroupId': '2-1', 'isEncryptionEnabled': False})
    vsp.get('/v1/objects/drives', {'data': [{'driveLocationId': 'HDD00-00', 'parityGroupId': '1-1'},
                                            {'driveLocationId': 'HDD00-01', 'parityGroupId': '1-1'}]})
    vsp.get('/v1/objects/drives', {'data': [{'driveLocationId': 'HDD01-00', 'parityGroupId': '2-1'}]})
    vsp.logout()
    result = vsp.run(encryption_key_info.main, connection_args(key_types=['DEK'], parity_groups=['1-1', '2-1']))
    assert result['key_counts'] == {'DEK': 1}
    assert result['parity_groups'] == [
        {'parity_group_id': '1-1', 'is_encryption_enabled': True, 'drive_locations': ['HDD00-00', 'HDD00-01'],
         'drives_without_key': ['HDD00-01'], 'keys_lost': True},
        {'parity_group_id': '2-1', 'is_encryption_enabled': False, 'drive_locations': ['HDD01-00'],
         'drives_without_key': [], 'keys_lost': False},
    ]
    assert vsp.rsps.calls[5].request.url.endswith('/v1/objects/drives?parityGroupId=1-1')
    assert result['lost_parity_groups'] == ['1-1']
    assert result['lost_drives'] == ['HDD00-01']


def test_key_coverage_unknown_parity_group(vsp):
    vsp.login()
    vsp.get('/v1/objects/encryption-keys', {'data': []})
    vsp.storage()
    vsp.not_found('/v1/objects/parity-groups/9-9')
    vsp.logout()
    result = vsp.fail(encryption_key_info.main, connection_args(key_types=['DEK'], parity_groups=['9-9']))
    assert 'parity_groups: unknown parity group(s) 9-9' in result['msg']


def test_key_info_returns_keys_and_coverage_but_no_pool_volumes(vsp):
    """The pool volumes are pool_volume_info's (the restore role's verify runs both)."""
    vsp.login()
    vsp.keys()
    vsp.storage()
    expect_all_groups(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_info.main, connection_args())
    assert result['lost_parity_groups'] == ['1-2']
    assert 'pool_volumes' not in result and 'pools' not in result and 'pool_volume_counts' not in result
    assert vsp.write_calls() == []


def test_key_info_pool_volumes_of_is_no_option_and_is_refused_before_a_request(vsp):
    result = vsp.fail(encryption_key_info.main, connection_args(pool_volumes_of=['1-1']))
    assert result['msg'].startswith('Unsupported parameters') and 'pool_volumes_of' in result['msg']
    assert vsp.calls == []


def test_pool_volume_info_all_pools(vsp):
    vsp.login()
    vsp.get('/v1/objects/pools', {'data': [{'poolId': 0, 'poolName': 'p0', 'poolStatus': 'POLE'},
                                           {'poolId': 1, 'poolName': 'p1', 'poolStatus': 'POLN'}]})
    vsp.get('/v1/objects/ldevs', {'data': [ldev(1, 'BLK', 0, ('1-1',)), ldev(7, pool_volume=False)]})
    vsp.get('/v1/objects/ldevs', {'data': [ldev(2, 'NML', 1, ('2-1',))]})
    vsp.get('/v1/objects/parity-groups/1-1', {'parityGroupId': '1-1', 'isEncryptionEnabled': True})
    vsp.get('/v1/objects/parity-groups/2-1', {'parityGroupId': '2-1', 'isEncryptionEnabled': False})
    vsp.logout()
    result = vsp.run(pool_volume_info.main, connection_args())
    assert result['pool_volumes'] == [
        {'ldev_id': 1, 'status': 'BLK', 'pool_id': 0, 'parity_group_ids': ['1-1'], 'encrypted': True},
        {'ldev_id': 2, 'status': 'NML', 'pool_id': 1, 'parity_group_ids': ['2-1'], 'encrypted': False},
    ]
    assert result['counts'] == {'BLK': 1, 'NML': 1}
    assert [p['pool_id'] for p in result['pools']] == [0, 1]
    assert vsp.write_calls() == []


def test_pool_volume_info_by_parity_group_caches_lookups(vsp):
    vsp.login()
    vsp.get('/v1/objects/pools', {'data': [{'poolId': 0, 'poolName': 'p0', 'poolStatus': 'POLN'}]})
    vsp.get('/v1/objects/parity-groups/1-1', {'parityGroupId': '1-1', 'isEncryptionEnabled': True})
    vsp.get('/v1/objects/ldevs', {'data': [ldev(1), ldev(2)]})
    vsp.logout()
    result = vsp.run(pool_volume_info.main, connection_args(parity_groups=['1-1']))
    assert [v['encrypted'] for v in result['pool_volumes']] == [True, True]
    assert result['counts'] == {'NML': 2}


def test_pool_volume_info_unknown_pool(vsp):
    vsp.login()
    vsp.get('/v1/objects/pools', {'data': [{'poolId': 0}]})
    vsp.logout()
    result = vsp.fail(pool_volume_info.main, connection_args(pool_ids=[5]))
    assert 'pool_ids: unknown pool(s) 5' in result['msg']


def test_missing_requests_library(vsp, monkeypatch):
    from ansible_collections.vsp.encryption.plugins.module_utils import _runner as runner
    monkeypatch.setattr(runner, 'HAS_REQUESTS', False)
    result = vsp.fail(encryption_key_info.main, connection_args())
    assert 'requests' in result['msg']
    assert vsp.calls == []


def test_connection_from_environment(vsp, monkeypatch):
    monkeypatch.setenv('VSP_HOST', 'vsp.example.com')
    monkeypatch.setenv('VSP_USERNAME', 'admin')
    monkeypatch.setenv('VSP_PASSWORD', 'Conn-S3cret-pw')
    vsp.login()
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    result = vsp.run(pool_volume_info.main, {})
    assert result['pool_volumes'] == []
    assert_no_secret(result)


def test_a_storage_device_id_the_server_does_not_manage_is_named_not_answered_with_a_bare_404(vsp):
    """A Configuration Manager server answers every object of a storage system it does not manage with 404."""
    sid = '900000099999'
    vsp.login()
    vsp.add('GET', '/v1/objects/storages/%s/encryption-keys' % sid, status=404,
            json={'errorSource': '/ConfigurationManager/v1/objects/storages/%s/encryption-keys' % sid,
                  'message': 'The specified resource does not exist.', 'messageId': 'KART30013-E'})
    vsp.get('/v1/objects/storages', {'data': [{'storageDeviceId': '900000061726', 'model': 'VSP 5600', 'serialNumber': 61726}]})
    vsp.logout()
    result = vsp.fail(encryption_key_info.main, connection_args(storage_device_id=sid))
    assert result['msg'].startswith('storage_device_id 900000099999 is not a storage system of this REST server (it knows: '
                                    '900000061726)'), result['msg']
    assert vsp.write_calls() == []


def test_a_404_of_an_object_that_does_not_exist_stays_that_404(vsp):
    """A parity group the array does not have: the storage system is known, so the 404 itself is the answer."""
    sid = '900000061726'
    vsp.login()
    vsp.add('GET', '/v1/objects/storages/%s/encryption-keys' % sid, status=404,
            json={'message': 'The specified resource does not exist.', 'messageId': 'KART30013-E'})
    vsp.get('/v1/objects/storages', {'data': [{'storageDeviceId': sid, 'model': 'VSP 5600', 'serialNumber': 61726}]})
    vsp.logout()
    result = vsp.fail(encryption_key_info.main, connection_args(storage_device_id=sid))
    assert 'KART30013-E' in result['msg'] and 'HTTP 404' in result['msg'], result['msg']
