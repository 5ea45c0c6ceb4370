# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The identity guards of the modules that write (argument spec: module_utils/_runner.py, identity_argument_spec)
    DOCUMENTATION = r'''
options:
  expected_storage_device_id:
    description:
      - The storage device id the array at O(host) must report. When it reports another one (the inventory names
        another array than the one at this address), the module fails before it changes anything on the array or
        writes a key file.
      - Not given, the storage device id is not checked.
    type: str
  expected_serial_number:
    description:
      - The serial number the array at O(host) must report. When it reports another one, the module fails before it
        changes anything on the array or writes a key file.
      - Not given, the serial number is not checked.
    type: str
'''
