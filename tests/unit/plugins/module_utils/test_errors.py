# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""plugins/module_utils/_errors.py: the cleaning of the array's texts (clean_text, clean_json) and VspApiError."""

import pytest
from ansible_collections.vsp.encryption.plugins.module_utils._errors import TEXT_MAX, VspApiError, clean_json, clean_text


# clean_text and clean_json: the limit and the cut


def test_text_max_is_the_default_limit():
    assert clean_text('y' * (TEXT_MAX + 1)) == 'y' * TEXT_MAX + '...'
    assert clean_json('y' * TEXT_MAX) == 'y' * TEXT_MAX


def test_text_exactly_at_the_limit_is_kept_whole():
    assert clean_text('a' * 10, 10) == 'a' * 10
    assert clean_text('a' * 11, 10) == 'a' * 10 + '...'
    assert clean_json('a' * 10, 10) == 'a' * 10


def test_a_cut_text_loses_its_trailing_spaces_before_the_dots():
    assert clean_text(' \x1b' + 'b' * 20, 10) == 'b' * 10 + '...'
    assert clean_json('ab    cdefghijk', 5) == 'ab...'
    assert clean_json('  abcdefgh', 5) == '  abc...'


def test_huge_value_is_bounded_at_four_times_the_limit_before_cleaning():
    # 40 characters: 39 'a' then a control; a bound of 5 * limit would see and keep more
    value = 'a' * 39 + '\x1b' + 'b' * 20
    assert clean_json(value, 10) == 'a' * 10 + '...'
    assert clean_json('ab\u2029' + 'c' * 50, 100) == 'ab c' + 'c' * 49
    text = 'x' * 41 + '\n'
    assert clean_json(text, 10) == 'x' * 10 + '...'


def test_a_text_of_exactly_four_times_the_limit_is_cleaned_whole_then_cut():
    # len == 4 * limit: not cut before cleaning, so the control at the end becomes a space, then the cut applies
    assert clean_json('a' * 39 + '\x00', 40) == 'a' * 39 + ' '
    assert clean_json('a' * 39 + '\x00', 10) == 'a' * 10 + '...'


def test_leading_controls_past_four_times_the_limit_are_cut_before_stripping():
    # the bound cuts at 4 * limit first: 40 controls leave nothing once stripped; the b's past the bound never count
    assert clean_text('\x1b' * 40 + 'b' * 5, 10) == ''
    assert clean_text('\x1b' * 39 + 'b' * 5, 10) == 'b'


def test_clean_json_passes_the_limit_into_lists_and_dict_keys_and_values():
    long_text = 'x' * 20
    cleaned = clean_json({long_text: [long_text, {'k': long_text}], 5: long_text}, limit=8)
    assert cleaned == {'x' * 8 + '...': ['x' * 8 + '...', {'k': 'x' * 8 + '...'}], 5: 'x' * 8 + '...'}


# clean_text and clean_json: control characters become spaces


@pytest.mark.parametrize('char', ['\x1b', '\u202e', '\u2028', '\u2029', '\x85'])
def test_each_control_category_becomes_a_space(char):
    assert clean_json('a%sb' % char) == 'a b'
    assert clean_text('a%sb' % char) == 'a b'


# clean_text strips and converts, clean_json keeps spaces and non-text values


def test_clean_text_converts_and_strips_clean_json_keeps_spaces():
    assert clean_text(12) == '12'
    assert clean_text(' a\n') == 'a'
    assert clean_json(' a\n') == ' a '
    assert clean_json({' k\n': [' v\n', 1, None]}) == {' k ': [' v ', 1, None]}
    assert clean_json({1: 'v'}) == {1: 'v'}


def test_clean_text_strips_a_short_printable_text_too():
    # the fast path (short and printable) strips as the slow path does: clean_text promises no leading or trailing spaces
    assert clean_text(' a ') == 'a'
    assert clean_text(' a\x1b') == 'a'
    assert clean_json(' a ') == ' a '


def test_clean_json_does_not_strip_and_leaves_non_string_keys():
    assert clean_json({' a ': ' b\x1b '}) == {' a ': ' b  '}
    assert clean_json({1: True, None: 2.5}) == {1: True, None: 2.5}


# VspApiError: the summary and describe()


def test_the_summary_is_the_exception_text():
    exc = VspApiError('summary')
    assert exc.args == ('summary',) and str(exc) == 'summary'


def test_describe_joins_status_message_cause_and_solution_word_for_word():
    assert VspApiError('Failed', status=500, message_id='KART1-E', message='Busy', cause='Lock held',
                       solution='Retry later').describe() == (
        'Failed (HTTP 500): KART1-E Busy. Cause: Lock held. Solution: Retry later.')
    assert VspApiError('Failed.', message_id='KART1-E').describe() == 'Failed. KART1-E.'
    assert VspApiError('Failed', message='Busy.').describe() == 'Failed: Busy.'
    assert VspApiError('Failed', message_id='KART1-E').describe() == 'Failed: KART1-E.'
    assert VspApiError('Failed', cause='c.', solution='s').describe() == 'Failed: Cause: c. Solution: s.'
    assert VspApiError('Failed (HTTP 404)', status=404).describe() == 'Failed (HTTP 404)'


# VspApiError.from_error_object: the message id, the SSB codes, the caps


def test_message_id_falls_back_to_the_upper_case_spelling():
    exc = VspApiError.from_error_object('x', {'messageID': 'KART1-E'})
    assert exc.message_id == 'KART1-E'


def test_ssb_codes_stand_in_for_a_missing_message_id():
    exc = VspApiError.from_error_object('x', {'errorCode': {'SSB1': '2E31', 'SSB2': '9100'}})
    assert exc.message_id == 'SSB1=2E31 SSB2=9100'


def test_one_ssb_code_is_enough_and_the_other_is_a_dash():
    assert VspApiError.from_error_object('x', {'errorCode': {'SSB1': '2E31'}}).message_id == 'SSB1=2E31 SSB2=-'
    assert VspApiError.from_error_object('x', {'errorCode': {'SSB2': '9100'}}).message_id == 'SSB1=- SSB2=9100'


def test_a_message_id_wins_over_ssb_codes():
    exc = VspApiError.from_error_object('x', {'messageId': 'KART2-E', 'errorCode': {'SSB1': '2E31', 'SSB2': '9100'}})
    assert exc.message_id == 'KART2-E'


def test_an_error_code_without_ssb_codes_gives_no_message_id():
    assert VspApiError.from_error_object('x', {'errorCode': {'other': '1'}}).message_id is None


def test_ssb_codes_are_capped_at_16_characters():
    exc = VspApiError.from_error_object('x', {'errorCode': {'SSB1': 'A' * 17, 'SSB2': 'B' * 16}})
    assert exc.message_id == 'SSB1=%s... SSB2=%s' % ('A' * 16, 'B' * 16)


def test_ssb2_is_capped_at_16_characters_and_details_are_kept():
    exc = VspApiError.from_error_object('x', {'errorCode': {'SSB1': '2E31', 'SSB2': 'B' * 17}}, details={'changed': True})
    assert exc.message_id == 'SSB1=2E31 SSB2=%s...' % ('B' * 16)
    assert exc.details == {'changed': True}


def test_message_id_and_solution_type_are_capped_at_64_characters_the_message_at_500():
    exc = VspApiError.from_error_object('s', {'messageId': 'M' * 70, 'message': 'm' * 600, 'solutionType': 'R' * 70})
    assert exc.message_id == 'M' * 64 + '...'
    assert exc.solution_type == 'R' * 64 + '...'
    assert exc.message == 'm' * 500 + '...'
    exc = VspApiError.from_error_object('s', {'messageId': 'M' * 64, 'solutionType': 'RETRY'})
    assert exc.message_id == 'M' * 64 and exc.solution_type == 'RETRY'
