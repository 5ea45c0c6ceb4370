# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters the roles use for their words (the logic lives in module_utils/runbook_text.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.vsp.encryption.plugins.plugin_utils import remote_files
from ansible_collections.vsp.encryption.plugins.plugin_utils import runbook_text
from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError


def _safe(func):
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except VspApiError as exc:
            raise AnsibleFilterError(exc.msg) from None
    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


class FilterModule(object):
    def filters(self):
        return {
            'text_list': _safe(runbook_text.text_list),
            'resume_hint': _safe(runbook_text.resume_hint),
            'failure_text': _safe(runbook_text.failure_text),
            'restore_summary': _safe(runbook_text.restore_summary),
            'verify_problems': _safe(runbook_text.verify_problems),
            'backup_refusal': _safe(runbook_text.backup_refusal),
            'backup_summary': _safe(runbook_text.backup_summary),
            'retention_deletions': _safe(remote_files.deletions),
            'host_key_file': _safe(remote_files.choice_or_refusal),
            'reached_hosts': _safe(remote_files.reached),
            'copy_status': _safe(remote_files.copy_status),
            'with_deletions': _safe(remote_files.with_deletions),
            'progress_batches': _safe(runbook_text.progress_batches),
            'merge_batches': _safe(runbook_text.merge_batches),
        }
