# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only lookup: call the simulator's control API from a play, on the controller (no module run).

    {{ lookup('simctl', 'POST', 'faults', {'path': 'ldevs', 'status': 503, 'times': 2}, base=url, ca_path=ca) }}
    {{ lookup('simctl', 'FILL', 64, {'user': 'admin', 'password': pw, 'alive': 2}, base=url, ca_path=ca) }}  (64 sessions)
    {{ lookup('simctl', 'AWAIT', 'requests', {'method': 'GET', 'path': '/pools$', 'min_ms': 1440}, base=url, ca_path=ca) }}
        (wait, at most 'timeout' s (60), until the request log holds, after the last reliability marker, an answered
        request of that method, path (a regular expression) and duration: a slow request the module gave up on)

Returns the JSON answer. Used by tests/reliability/ to set faults and read the state between the
tasks of one playbook cheaply; not part of the collection.
"""
import re

import requests
from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase
from vsp_simulator.harness import ARRAY_PATH, ControlClient, ControlError

DOCUMENTATION = r"""
name: simctl
short_description: call the vsp-simulator control API (tests only)
description: Sends one request to C(<base>/simulator/v1/<what>) and returns the JSON answer.
options:
  _terms:
    description: method, what, optional JSON body
    required: true
  base:
    description: base URL of the simulator
    required: true
  ca_path:
    description: CA of the simulator
    required: true
"""


MARKER_PREFIX = "/ConfigurationManager/reliability-marker/"  # rel_helpers.marker_task


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        method, what = terms[0], terms[1]
        body = terms[2] if len(terms) > 2 else None
        ctl = ControlClient(kwargs["base"], kwargs["ca_path"])
        if method == "FILL":  # log in `what` times (array API), sessions idle-expiring after body['alive'] s
            url = kwargs["base"] + ARRAY_PATH + "sessions"
            for _attempt in range(int(what)):
                resp = ctl.http.post(url, auth=(body["user"], body["password"]), json={"aliveTime": body["alive"]}, timeout=30)
                if resp.status_code != 200:
                    raise AnsibleError("simctl FILL: HTTP %s" % resp.status_code)
            return [int(what)]
        try:
            if method == "AWAIT":
                return [self._await(ctl, body)]
            return [ctl.call(method, what, body)]
        except requests.RequestException as exc:
            raise AnsibleError("simctl %s %s: %s" % (method, what, type(exc).__name__)) from None
        except ControlError as exc:
            raise AnsibleError("simctl %s" % exc) from None

    @staticmethod
    def _await(ctl, body):
        """The first entry after the last marker that matches ``body``; AnsibleError after ``timeout`` s."""
        pattern = re.compile(body["path"])
        timeout = body.get("timeout", 60)
        found = []

        def matched(log):
            marks = [i for i, e in enumerate(log) if e["path"].startswith(MARKER_PREFIX)]
            found[:] = [e for e in log[marks[-1] + 1 if marks else 0:]
                        if e["method"] == body.get("method", e["method"]) and pattern.search(e["path"]) and e["ms"] >= body.get("min_ms", 0)]
            return bool(found)

        if ctl.await_log(matched, timeout=timeout) is None:
            raise AnsibleError("simctl AWAIT: no %s %s of at least %s ms in the request log within %s s"
                               % (body.get("method", "request"), body["path"], body.get("min_ms", 0), timeout))
        return found[0]
