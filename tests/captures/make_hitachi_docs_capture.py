"""Write tests/captures/hitachi-docs.capture.json: a capture assembled from the response examples
of Hitachi's documentation (the project's REST API reference, vsp-rest-api.md, each marked there [C]), not
captured from an array. Where the documentation gives no example, the value is marked [I] below
and made up to fit the documented fields.

    python tests/captures/make_hitachi_docs_capture.py

[C]: the version answer (OPSCM 10.8); the storage system (HCS-JA HCSR0086, VSP G900); the pool
volume LDEV 1 of parity group 1-2 in pool 0 (TF output); the pool 0 "testpool" (RG17); the key 7
(RG17 / HCSR0435); the DP volume fields (CINDER tests).
[I]: the list shapes ``{"data": [...]}`` of keys and drives; the drive objects (fields from Hitachi's
code, values made up); parity groups 1-1 and 1-2 (fields of TF's model, values made up); the other
keys (the fields of key 7); the DP volumes' ids; the empty job list.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "hitachi-docs.capture.json")


def answer(path, body, query=None):
    return {"method": "GET", "path": path, "query": query or {}, "status": 200, "body": body}


def key(key_id, key_type, location="-", backups=4):
    return {"keyId": str(key_id), "createdTime": "2018-10-29T04:32:26Z", "keyType": key_type, "uuid": "-",
            "targetDeviceLocation": location, "keyGeneratedLocation": "DKC", "numOfBackups": backups}


def drive(location, group):  # [I]
    return {"driveLocationId": location, "driveTypeName": "SSD", "driveSpeed": 0, "totalCapacity": 7680,
            "driveType": "SLB5G-M7R6SS", "usageType": "DATA", "status": "NML", "parityGroupId": group,
            "serialNumber": "DOC%s" % location.replace("HDD", "").replace("-", "")}


def group(pg_id, encrypted, ldevs):  # [I] fields of TF's parity group model
    return {"parityGroupId": pg_id, "numOfLdevs": len(ldevs), "usedCapacityRate": 1, "availableVolumeCapacity": 20000,
            "raidLevel": "RAID5", "raidType": "3D+1P", "clprId": 0, "driveType": "SLB5G-M7R6SS", "driveTypeName": "SSD",
            "isCopyBackModeEnabled": True, "isEncryptionEnabled": encrypted, "totalCapacity": 20480,
            "physicalCapacity": 20480, "availablePhysicalCapacity": 20000, "isAcceleratedCompressionEnabled": False,
            "emulationType": "OPEN-V",
            "spaces": [{"partitionNumber": i, "ldevId": ld, "status": "Used"} for i, ld in enumerate(ldevs)]}


def main():
    storage = {"storageDeviceId": "886000123456", "model": "VSP G900", "serialNumber": 123456, "svpIp": "192.0.2.100",
               "mappWebServerHttpsPort": 443, "rmiPort": 1099, "ctl1Ip": "192.0.10.10", "ctl2Ip": "192.0.10.11",
               "dkcMicroVersion": "88-02-00/20", "communicationModes": [{"communicationMode": "lanConnectionMode"}],
               "isSecure": True, "lanConnectionProtocol": "DTLS SVP", "targetCtl": "CTL1", "usesSvp": True}
    pool_volume = {"ldevId": 1, "clprId": 0, "emulationType": "OPEN-V-CVS", "byteFormatCapacity": "20.00 G",
                   "blockCapacity": 41943040, "composingPoolId": 0, "attributes": ["CVS", "POOL"], "raidLevel": "RAID5",
                   "raidType": "3D+1P", "numOfParityGroups": 1, "parityGroupIds": ["1-2"], "driveType": "SLB5G-M7R6SS",
                   "driveByteFormatCapacity": "6.98 T", "driveBlockCapacity": 15000000128, "label": "newLabel",
                   "status": "NML", "mpBladeId": 3, "ssid": "0004", "resourceGroupId": 2, "isAluaEnabled": False}
    dp_volumes = [{"ldevId": ldev_id, "clprId": 0, "emulationType": "OPEN-V-CVS", "byteFormatCapacity": "4.00 G",
                   "blockCapacity": 8388608, "attributes": ["CVS", "HDP"], "status": "NML", "poolId": 0,
                   "numOfUsedBlock": 0, "dataReductionStatus": "DISABLED", "dataReductionMode": "disabled",
                   "mpBladeId": 0, "ssid": "0004", "resourceGroupId": 0, "isAluaEnabled": False}
                  for ldev_id in (100, 101)]  # [I] ids
    pool = {"poolId": 0, "poolStatus": "POLN", "usedCapacityRate": 14, "usedPhysicalCapacityRate": 14, "snapshotCount": 0,
            "poolName": "testpool", "availableVolumeCapacity": 40320, "availablePhysicalVolumeCapacity": 40320,
            "totalPoolCapacity": 46998, "totalPhysicalCapacity": 46998, "numOfLdevs": 1, "firstLdevId": 1,
            "warningThreshold": 70, "depletionThreshold": 80, "virtualVolumeCapacityRate": -1, "isMainframe": False,
            "isShrinking": False, "locatedVolumeCount": 9, "totalLocatedCapacity": 67132128, "blockingMode": "NB",
            "totalReservedCapacity": 0, "reservedVolumeCount": 0, "poolType": "HDP",
            "duplicationLdevIds": [49151, 49150, 49149, 49148, 49147, 49146, 49145, 49144], "duplicationNumber": 8,
            "dataReductionAccelerateCompCapacity": 13072996, "dataReductionCapacity": 13072996,
            "dataReductionBeforeCapacity": 13074560, "dataReductionAccelerateCompRate": 92, "duplicationRate": 5,
            "compressionRate": 86, "dataReductionRate": 99,
            "dataReductionAccelerateCompIncludingSystemData": {"isReductionCapacityAvailable": True, "reductionCapacity": 430080,
                                                               "isReductionRateAvailable": True, "reductionRate": 3},
            "dataReductionIncludingSystemData": {"isReductionCapacityAvailable": True, "reductionCapacity": 430080,
                                                 "isReductionRateAvailable": True, "reductionRate": 3},
            "snapshotUsedCapacity": 0, "suspendSnapshot": True}
    drives = [drive("HDD00-%02d" % i, "1-1") for i in range(4)] + [drive("HDD00-%02d" % i, "1-2") for i in range(8, 12)]
    deks = [key(k, "DEK", "HDD00-%02d" % loc) for k, loc in ((5, 8), (7, 9), (8, 10), (9, 11))]
    answers = [
        answer("/configuration/version", {"productName": "Configuration Manager REST API", "apiVersion": "1.31.0"}),
        answer("/v1/objects/storages/instance", storage),
        answer("/v1/objects/parity-groups", {"data": [group("1-1", False, [44]), group("1-2", True, [1])]}),
        answer("/v1/objects/drives", {"data": drives}),
        answer("/v1/objects/drives", {"data": drives[4:]}, {"parityGroupId": "1-2"}),
        answer("/v1/objects/ldevs", {"data": [pool_volume]}, {"count": 16384, "parityGroupId": "1-2"}),
        answer("/v1/objects/pools", {"data": [pool]}),
        answer("/v1/objects/ldevs", {"data": [pool_volume]}, {"count": 16384, "poolId": 0}),
        answer("/v1/objects/ldevs", {"data": dp_volumes}, {"count": 16384, "ldevOption": "dpVolume", "poolId": 0}),
        answer("/v1/objects/encryption-keys", {"data": deks}, {"keyType": "DEK"}),
        answer("/v1/objects/encryption-keys", {"data": [key(0, "CEK")]}, {"keyType": "CEK"}),
        answer("/v1/objects/encryption-keys", {"data": [key(1, "KEK")]}, {"keyType": "KEK"}),
        answer("/v1/objects/encryption-keys", {"data": [key(k, "FREE") for k in (2, 3, 4, 6)]}, {"keyType": "FREE"}),
        answer("/v1/objects/jobs", {"data": []}, {"count": 100}),
    ]
    doc = {"format": "vsp.encryption.array_capture", "format_version": 1, "captured_at": "2018-10-29T05:00:00Z",
           "collection_version": "1.1.0", "api_version": "1.31.0", "redacted": False, "encrypted_parity_groups": ["1-2"],
           "key_counts": {"DEK": 4, "CEK": 1, "KEK": 1, "FREE": 4}, "answers": answers}
    with open(OUT, "w") as handle:
        handle.write(json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
