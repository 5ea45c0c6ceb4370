# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An AWX credential with no host injects VSP_HOST="": the modules take that as no host (issue 14, fleets)."""

import pytest

from ansible_collections.vsp.encryption.plugins.module_utils import common
from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError


@pytest.mark.parametrize('host', ['', '   ', None])
def test_an_empty_host_is_refused_before_anything_is_sent(host):
    with pytest.raises(VspApiError) as info:
        common._check_connection_params({'host': host, 'port': 443, 'timeout': 30, 'wait_timeout': 900, 'retries': 5})
    assert info.value.msg.startswith('host is required:') and 'VSP_HOST' in info.value.msg
    assert 'nothing was sent' in info.value.msg


def test_a_host_passes():
    common._check_connection_params({'host': 'vsp01.example.com', 'port': 443, 'timeout': 30, 'wait_timeout': 900,
                                     'retries': 5})
