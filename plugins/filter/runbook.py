# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's two filters.

* ``text_list`` (public): a list from a list or comma-separated text, as AWX surveys give it.
* ``runbook`` (private: for this collection's roles and playbooks, its builders and their arguments may change in any
  release): ``value | vsp.encryption.runbook('<builder>', ...)`` calls one of the builders below, which word the roles'
  plans, summaries and failures and make the decisions a role makes on the control node (which backup hosts were
  reached, what retention deletes on them, which file to fetch). The logic lives in plugins/plugin_utils/ and
  plugins/module_utils/_audit.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.vsp.encryption.plugins.module_utils import _audit as audit
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.plugin_utils import _remote_files as remote_files
from ansible_collections.vsp.encryption.plugins.plugin_utils import _runbook_text as runbook_text


def _safe(func):
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except VspApiError as exc:
            raise AnsibleFilterError(exc.msg) from None
    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def audit_report(arrays, max_age_hours=None):
    return audit.report(list(arrays or []), max_age_hours=max_age_hours)


def audit_markdown(report):
    if not isinstance(report, dict) or report.get('kind') != audit.REPORT_KIND:
        raise VspApiError("runbook('audit_markdown') takes the report of runbook('audit_report')")
    return audit.markdown(report)


def audit_error(name, failed_result=None, max_age_hours=None):
    message = failed_result.get('msg') if isinstance(failed_result, dict) else failed_result
    return audit.audit_error(name, message, max_age_hours=max_age_hours)


BUILDERS = {
    'resume_hint': runbook_text.resume_hint,
    'failure_text': runbook_text.failure_text,
    'failed_input': runbook_text.failed_input,
    'restore_summary': runbook_text.restore_summary,
    'verify_problems': runbook_text.verify_problems,
    'backup_refusal': runbook_text.backup_refusal,
    'backup_summary': runbook_text.backup_summary,
    'progress_batches': runbook_text.progress_batches,
    'merge_batches': runbook_text.merge_batches,
    'retention_deletions': remote_files.deletions,
    'host_key_file': remote_files.choice_or_refusal,
    'reached_hosts': remote_files.reached,
    'copy_status': remote_files.copy_status,
    'with_deletions': remote_files.with_deletions,
    'audit_report': audit_report,
    'audit_markdown': audit_markdown,
    'audit_error': audit_error,
}


def runbook(value, builder, *args, **kwargs):
    """``value`` through the builder named ``builder`` (see :data:`BUILDERS`)."""
    if builder not in BUILDERS:
        raise AnsibleFilterError("runbook: no builder %r; the builders: %s" % (builder, ', '.join(sorted(BUILDERS))))
    return _safe(BUILDERS[builder])(value, *args, **kwargs)


class FilterModule(object):
    def filters(self):
        return {
            'text_list': _safe(runbook_text.text_list),
            'runbook': runbook,
        }
