# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the key-backup audit playbook (the logic lives in module_utils/audit.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.vsp.encryption.plugins.module_utils import audit
from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError


def audit_report(arrays, max_age_hours=None):
    try:
        return audit.report(list(arrays or []), max_age_hours=max_age_hours)
    except VspApiError as exc:
        raise AnsibleFilterError(exc.msg) from None


def audit_markdown(report):
    if not isinstance(report, dict) or report.get('kind') != audit.REPORT_KIND:
        raise AnsibleFilterError('audit_markdown takes the report of vsp.encryption.audit_report')
    return audit.markdown(report)


def audit_error(name, failed_result=None, max_age_hours=None):
    message = failed_result.get('msg') if isinstance(failed_result, dict) else failed_result
    return audit.audit_error(name, message, max_age_hours=max_age_hours)


class FilterModule(object):
    def filters(self):
        return {
            'audit_report': audit_report,
            'audit_markdown': audit_markdown,
            'audit_error': audit_error,
        }
