"""The array's state: one lock, views shaped as the API returns them, persistence."""

from __future__ import annotations

import copy
import json
import os
import threading

from . import files
from . import scenario as scenario_mod

KEY_FIELDS = ("keyId", "createdTime", "keyType", "uuid", "targetDeviceLocation",
              "keyGeneratedLocation", "numOfBackups")


class ArrayState:
    """Everything the array remembers. Callers hold ``self.lock`` while reading or changing."""

    def __init__(self, scn=None, state_file=None):
        self.lock = threading.RLock()
        self.state_file = state_file
        self.scenario = scn or scenario_mod.default_scenario()
        self.data = None
        if state_file and os.path.exists(state_file):
            with open(state_file, encoding="utf-8") as fh:
                saved = json.load(fh)
            self.scenario = saved.get("scenario") or self.scenario
            self.data = saved["data"]
        else:
            self.reset(self.scenario)

    # --- lifecycle -------------------------------------------------------------------------
    def reset(self, scn):
        data = scenario_mod.build_state(scn)
        with self.lock:
            self.scenario = scn
            self.data = data
            self.save()

    def save(self):
        """Persist the array's state (called after each change, under the lock): the state file is
        replaced in one step, mode 0600."""
        if not self.state_file:
            return
        text = json.dumps({"scenario": self.scenario, "data": self.data})
        files.write_atomic(self.state_file, text, mode=0o600, prefix=".state-")

    # --- accessors -------------------------------------------------------------------------
    @property
    def storage(self):
        return self.data["storage"]

    @property
    def sdid(self):
        return self.data["storage"]["storageDeviceId"]

    def option(self, name):
        """A scenario option (``options:`` in the scenario), False when not set."""
        return bool((self.data.get("options") or {}).get(name, False))

    def user(self, name):
        return self.data["users"].get(name)

    # --- derived facts ---------------------------------------------------------------------
    def lost_parity_groups(self):
        """Parity groups with at least one lost DEK."""
        lost_locs = {k["targetDeviceLocation"] for k in self.data["keys"].values()
                     if k["lost"] and k["keyType"] == "DEK"}
        return sorted({d.get("parityGroupId") for loc, d in self.data["drives"].items()
                       if loc in lost_locs and d.get("parityGroupId")})

    def pool_volumes(self, pool_id=None, pg_id=None):
        out = []
        for ldev in self.data["ldevs"].values():
            if "composingPoolId" not in ldev:
                continue
            if pool_id is not None and ldev["composingPoolId"] != pool_id:
                continue
            if pg_id is not None and pg_id not in ldev.get("parityGroupIds", []):
                continue
            out.append(ldev)
        return out

    # --- views (shaped as the API returns them) --------------------------------------------
    def key_view(self, key):
        # KEY_FIELDS, and on a twin every other field the array sent
        return {f: v for f, v in key.items() if f not in ("lost", "material")}

    def ldev_view(self, ldev):
        return copy.deepcopy(ldev)

    def pool_view(self, pool):
        pid = pool["poolId"]
        vols = sorted(self.pool_volumes(pool_id=pid), key=lambda v: v["ldevId"])
        dps = [v for v in self.data["ldevs"].values() if v.get("poolId") == pid]
        has_blocked = any(v["status"] == "BLK" for v in vols)
        blocked = has_blocked or bool(pool.get("blocked"))
        if "captured" in pool:  # a twin: the pool as the array sent it; status follows the volumes
            view = copy.deepcopy(pool["captured"])
            was = view.get("poolStatus")
            view["poolStatus"] = "POLE" if blocked else ("POLN" if was in (None, "POLE") else was)
            if "hasBlockedPoolVolume" in view:
                view["hasBlockedPoolVolume"] = has_blocked
            return view
        total = sum(v.get("blockCapacity", 0) for v in vols) * 512 // 2**20
        used = sum(v.get("blockCapacity", 0) for v in dps) * 512 // 2**20 // 10
        rate = int(used * 100 / total) if total else 0
        return {
            "poolId": pid, "poolStatus": "POLE" if blocked else "POLN",
            "usedCapacityRate": rate, "usedPhysicalCapacityRate": rate, "snapshotCount": 0,
            "poolName": pool["poolName"], "availableVolumeCapacity": total - used,
            "availablePhysicalVolumeCapacity": total - used, "totalPoolCapacity": total,
            "totalPhysicalCapacity": total, "numOfLdevs": len(vols),
            "firstLdevId": vols[0]["ldevId"] if vols else -1, "warningThreshold": 70,
            "depletionThreshold": 80, "virtualVolumeCapacityRate": -1, "isMainframe": False,
            "isShrinking": False, "locatedVolumeCount": len(dps),
            "totalLocatedCapacity": sum(v["blockCapacity"] for v in dps) * 512 // 2**20,
            "blockingMode": "NB", "totalReservedCapacity": 0, "reservedVolumeCount": 0,
            "poolType": "HDP", "hasBlockedPoolVolume": has_blocked,
        }

    def pg_view(self, pg):
        if "captured" in pg:  # a twin: the parity group as the array sent it
            return copy.deepcopy(pg["captured"])
        pgid = pg["parityGroupId"]
        ldevs = [v for v in self.data["ldevs"].values() if pgid in v.get("parityGroupIds", [])]
        total = len(pg["driveLocationIds"]) * 1788000 * 3 // 4 // 1024
        used = sum(v.get("blockCapacity", 0) for v in ldevs) * 512 // 2**30
        return {
            "parityGroupId": pgid, "numOfLdevs": len(ldevs),
            "usedCapacityRate": int(used * 100 / total) if total else 0,
            "availableVolumeCapacity": max(total - used, 0), "raidLevel": "RAID5",
            "raidType": "3D+1P", "clprId": 0, "driveType": scenario_mod.DRIVE_TYPE,
            "driveTypeName": scenario_mod.DRIVE_TYPE_NAME, "driveSpeed": 0,
            "isCopyBackModeEnabled": True, "isEncryptionEnabled": pg["encrypted"],
            "totalCapacity": total, "physicalCapacity": total,
            "availablePhysicalCapacity": max(total - used, 0),
            "isAcceleratedCompressionEnabled": False, "emulationType": "OPEN-V",
            "spaces": [{"partitionNumber": i, "ldevId": v["ldevId"], "status": "Used"}
                       for i, v in enumerate(sorted(ldevs, key=lambda x: x["ldevId"]))],
        }

    def drive_view(self, drive):
        return dict(drive)

    def snapshot(self, sessions):
        """The control API's GET state."""
        d = self.data
        keys = []
        for k in sorted(d["keys"].values(), key=lambda k: int(k["keyId"])):
            view = self.key_view(k)
            view["lost"] = k["lost"]
            keys.append(view)
        kms = {"configured": d["kms"]["configured"], "auto_backup": d["kms"]["auto_backup"],
               "backups": d["kms"]["backups"], "keyIds": list(d["kms"]["key_ids"])}
        return {
            "storage": {k: v for k, v in d["storage"].items() if k != "captured"},
            "ldevs": [self.ldev_view(v) for v in sorted(d["ldevs"].values(),
                                                        key=lambda v: v["ldevId"])],
            "pools": [self.pool_view(p) for p in sorted(d["pools"].values(),
                                                        key=lambda p: p["poolId"])],
            "parity_groups": [self.pg_view(p) for p in d["parity_groups"].values()],
            "drives": [self.drive_view(x) for x in d["drives"].values()],
            "keys": keys,
            "lost_parity_groups": self.lost_parity_groups(),
            "options": dict(d.get("options") or {}),
            "sessions": sessions,
            "kms": kms,
        }
