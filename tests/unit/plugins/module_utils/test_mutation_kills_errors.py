# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of errors.py that survived `make mutation` (docs/mutation.md)."""

from ansible_collections.vsp.encryption.plugins.module_utils import _errors as errors
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError, clean_json


def test_clean_json_passes_the_limit_into_lists_and_dict_keys_and_values():
    long_text = 'x' * 20
    cleaned = clean_json({long_text: [long_text, {'k': long_text}], 5: long_text}, limit=8)
    assert cleaned == {'x' * 8 + '...': ['x' * 8 + '...', {'k': 'x' * 8 + '...'}], 5: 'x' * 8 + '...'}


def test_clean_json_does_not_strip_and_leaves_non_string_keys():
    assert clean_json({' a ': ' b\x1b '}) == {' a ': ' b  '}
    assert clean_json({1: True, None: 2.5}) == {1: True, None: 2.5}


def test_message_id_falls_back_to_the_upper_case_spelling():
    exc = VspApiError.from_error_object('x', {'messageID': 'KART1-E'})
    assert exc.message_id == 'KART1-E'


def test_ssb_codes_stand_in_for_a_missing_message_id():
    exc = VspApiError.from_error_object('x', {'errorCode': {'SSB1': '2E31', 'SSB2': '9100'}})
    assert exc.message_id == 'SSB1=2E31 SSB2=9100'


def test_one_ssb_code_is_enough_and_the_other_is_a_dash():
    assert VspApiError.from_error_object('x', {'errorCode': {'SSB1': '2E31'}}).message_id == 'SSB1=2E31 SSB2=-'
    assert VspApiError.from_error_object('x', {'errorCode': {'SSB2': '9100'}}).message_id == 'SSB1=- SSB2=9100'


def test_ssb_codes_are_capped_at_16_characters():
    exc = VspApiError.from_error_object('x', {'errorCode': {'SSB1': 'A' * 17, 'SSB2': 'B' * 16}})
    assert exc.message_id == 'SSB1=%s... SSB2=%s' % ('A' * 16, 'B' * 16)


def test_a_message_id_wins_over_ssb_codes():
    exc = VspApiError.from_error_object('x', {'messageId': 'KART2-E', 'errorCode': {'SSB1': '2E31', 'SSB2': '9100'}})
    assert exc.message_id == 'KART2-E'


def test_no_ssb_codes_no_message_id():
    assert VspApiError.from_error_object('x', {'errorCode': {'other': '1'}}).message_id is None


def test_text_max_is_the_default_limit():
    assert errors.clean_text('y' * (errors.TEXT_MAX + 1)) == 'y' * errors.TEXT_MAX + '...'
    assert errors.clean_json('y' * errors.TEXT_MAX) == 'y' * errors.TEXT_MAX
