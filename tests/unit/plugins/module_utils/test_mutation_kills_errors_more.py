# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""More tests for mutants of errors.py that survived `make mutation` (docs/mutation.md): the cleaning
bounds (exactly at the limit, four times it, the cut), the separators, and describe() word for word."""

import pytest
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError, clean_json, clean_text


def test_text_exactly_at_the_limit_is_kept_whole():
    assert clean_text('a' * 10, 10) == 'a' * 10
    assert clean_text('a' * 11, 10) == 'a' * 10 + '...'
    assert clean_json('a' * 10, 10) == 'a' * 10


def test_cut_removes_trailing_spaces_only():
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


def test_exactly_four_times_the_limit_with_a_control_at_the_end():
    # len == 4 * limit: not cut before cleaning, so the control at the end becomes a space, then the cut applies
    assert clean_json('a' * 39 + '\x00', 40) == 'a' * 39 + ' '
    assert clean_json('a' * 39 + '\x00', 10) == 'a' * 10 + '...'


@pytest.mark.parametrize('char', ['\x1b', '\u202e', '\u2028', '\u2029', '\x85'])
def test_each_category_becomes_a_space(char):
    assert clean_json('a%sb' % char) == 'a b'
    assert clean_text('a%sb' % char) == 'a b'


def test_clean_text_converts_and_strips_clean_json_keeps_spaces():
    assert clean_text(12) == '12'
    assert clean_text(' a\n') == 'a'
    assert clean_json(' a\n') == ' a '
    assert clean_json({' k\n': [' v\n', 1, None]}) == {' k ': [' v ', 1, None]}
    assert clean_json({1: 'v'}) == {1: 'v'}


def test_the_summary_is_the_exception_text():
    exc = VspApiError('summary')
    assert exc.args == ('summary',) and str(exc) == 'summary'


def test_describe_word_for_word():
    assert VspApiError('Failed', status=500, message_id='KART1-E', message='Busy', cause='Lock held',
                       solution='Retry later').describe() == (
        'Failed (HTTP 500): KART1-E Busy. Cause: Lock held. Solution: Retry later.')
    assert VspApiError('Failed.', message_id='KART1-E').describe() == 'Failed. KART1-E.'
    assert VspApiError('Failed', message='Busy.').describe() == 'Failed: Busy.'
    assert VspApiError('Failed', message_id='KART1-E').describe() == 'Failed: KART1-E.'
    assert VspApiError('Failed', cause='c.', solution='s').describe() == 'Failed: Cause: c. Solution: s.'
    assert VspApiError('Failed (HTTP 404)', status=404).describe() == 'Failed (HTTP 404)'


def test_from_error_object_caps():
    exc = VspApiError.from_error_object('s', {'messageId': 'M' * 70, 'message': 'm' * 600, 'solutionType': 'R' * 70})
    assert exc.message_id == 'M' * 64 + '...'
    assert exc.solution_type == 'R' * 64 + '...'
    assert exc.message == 'm' * 500 + '...'
    exc = VspApiError.from_error_object('s', {'messageId': 'M' * 64, 'solutionType': 'RETRY'})
    assert exc.message_id == 'M' * 64 and exc.solution_type == 'RETRY'


def test_clean_text_strips_a_short_printable_text_too():
    # the fast path (short and printable) strips as the slow path does: clean_text promises no leading or trailing spaces
    assert clean_text(' a ') == 'a'
    assert clean_text(' a\x1b') == 'a'
    assert clean_json(' a ') == ' a '


def test_leading_controls_past_four_times_the_limit_are_cut_before_stripping():
    # the bound cuts at 4 * limit first: 40 controls leave nothing once stripped; the b's past the bound never count
    assert clean_text('\x1b' * 40 + 'b' * 5, 10) == ''
    assert clean_text('\x1b' * 39 + 'b' * 5, 10) == 'b'


def test_ssb2_capped_at_16_and_details_kept():
    exc = VspApiError.from_error_object('x', {'errorCode': {'SSB1': '2E31', 'SSB2': 'B' * 17}}, details={'changed': True})
    assert exc.message_id == 'SSB1=2E31 SSB2=%s...' % ('B' * 16)
    assert exc.details == {'changed': True}
