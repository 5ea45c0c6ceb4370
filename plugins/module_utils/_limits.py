# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Size limits on what the array sends (no imports, so every module_utils file may use them)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# One JSON answer (or error body) of the array. The largest real one is a full LDEV page
# (16,384 LDEV objects, a few MiB); anything beyond this is refused, not parsed.
JSON_MAX = 16 * 1024 * 1024

# The key backup file. A real one is a few KiB (at most 4,096 keys); a download larger than this
# is refused and nothing is kept.
KEY_FILE_MAX = 16 * 1024 * 1024
