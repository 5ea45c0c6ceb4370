#!/usr/bin/env python3
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Summarise a finished ``mutmut run`` (run from the directory that holds ``mutants/``).

Prints killed / survived / timeout / no-tests counts per module and the score (killed / checked), writes
the survivors with their diffs to ``--out`` (Markdown), and exits 1 when the score is below ``--min``.
Each survivor is classed by its diff: ``text`` when only the contents of string literals differ (a
message, log or report text that no test pins), ``logic`` otherwise.
"""
import argparse
import collections
import re
import sys

from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
from mutmut.utils.file_utils import walk_mutatable_files

STRING = re.compile(r"""[rbuf]*('''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")""")


def _strip_strings(line):
    return STRING.sub("''", line)


NUMBER = re.compile(r"\b(0[oO][0-7]+|0[xX][0-9a-fA-F]+|0[bB][01]+|\d+)\b")
# Mutants known to be equivalent: the mutated line means the same as the original (reason given).
EQUIVALENT = (
    (re.compile(r"int\(item, 10\)"), re.compile(r"int\(item, \)"), 'int() parses base 10 by default'),
    (re.compile(r"\.rjust\(1, '0'\)"), re.compile(r"\.ljust\(1, '0'\)"), "padding to width 1 only touches an empty text, where rjust and ljust agree"),
    (re.compile(r"if not keep or keep <= 0:"), re.compile(r"if not keep or keep < 0:"), '`not keep` already covers keep 0'),
    # errors._clean: a fast path and a bound on the work, neither changes the result
    (re.compile(r"if len\(text\) <= limit and text\.isprintable\(\):"), re.compile(r"if len\(text\) < limit and text\.isprintable\(\):"),
     'a printable text of exactly `limit` characters comes out of the slow path the same (nothing replaced, nothing cut)'),
    (re.compile(r"if len\(text\) > limit \* 4:"), re.compile(r"if len\(text\) (>= limit \* 4|> limit / 4):"),
     'cutting to `limit * 4` characters changes only a longer text, so cutting at exactly that length or sooner is a no-op'),
    # validate: the checks just before leave nothing for the change to act on
    (re.compile(r"number = int\(value, 10\)"), re.compile(r"number = int\(value, \)"),
     'the text is ASCII digits only (checked just before): int() parses base 10 by default'),
    (re.compile(r"item\.lstrip\('0'\)"), re.compile(r"item\.lstrip\('XX0XX'\)"),
     'an item that int() accepted holds no X, so also stripping X changes nothing'),
    # coverage._group_order: the rank of an external parity group (E1-1) after the numbered ones
    (re.compile(r"return \(10 \*\* 6, group_id\)"), re.compile(r"return \((11 \*\* 6|10 \*\* 7), group_id\)"),
     'any rank above every parity group number (far below 10 ** 6) sorts the external groups last alike'),
    # jobs.run_job: an answer that is not JSON
    (re.compile(r"^\s*job = None$"), re.compile(r'^\s*job = ""$'), 'None and an empty text are refused the same way (not a job object)'),
    # pools.is_not_blocked_answer: exc is a VspApiError there (checked just before)
    (re.compile(r"getattr\(exc, key, ''\) or ''"), re.compile(r"getattr\(exc, key, (None|'XXXX')?\) or ''"),
     'a VspApiError always has message and cause, so the getattr default is never used'),
    (re.compile(r"getattr\(exc, key, ''\) or ''"), re.compile(r"getattr\(exc, key, ''\) or 'XXXX'"),
     "the stand-in of an empty field ('xxxx' once lowered) can never form 'not blocked' / 'not in the blocked status'"),
    # restore_plan.make_plan: offline_impact reads the parity groups only when it is given no volumes
    (re.compile(r"offline_impact\(api, groups, volumes\) if offline and needed and volumes"),
     re.compile(r"offline_impact\(api, None, volumes\) if offline and needed and volumes"),
     'offline_impact uses the parity group ids only to look the volumes up when none are given; here volumes are given'),
    # client.media_type: only the part before the first ';' is used
    (re.compile(r"value\.split\(';', 1\)\[0\]"), re.compile(r"value\.split\(';', (2)?\)\[0\]"),
     "only the part before the first ';' is used, however many splits are made"),
    # errors.clean_json: the value is returned unchanged when it is not a text, and None is as false as False
    (re.compile(r"clean_json\(k, limit\) if isinstance\(k, str\) else k"), re.compile(r"clean_json\(k, limit\) if \(isinstance\(k, str\)\) or True else k"),
     'clean_json returns a key that is not a text (a number, None) unchanged, so cleaning every key changes nothing'),
    (re.compile(r"return _clean\(value, limit, False\)"), re.compile(r"return _clean\(value, limit, None\)"),
     '`strip` is only tested for truth: None and False are both false'),
    # client._BoundedRaw.read: the urllib3 signature; cache_content is not used
    (re.compile(r"def read\(self, amt=None, decode_content=None, cache_content=False\):"),
     re.compile(r"def read\(self, amt=None, decode_content=None, cache_content=True\):"),
     'read() ignores cache_content (the parameter is there for the interface of urllib3 responses)'),
    # backup_file._size_text: only called for a whole number of MiB, where / and // print alike with %d
    (re.compile(r"% \(cap // \(1024 \* 1024\), cap\)"), re.compile(r"% \(cap / \(1024 \* 1024\), cap\)"),
     'this branch runs only when cap is a whole number of MiB, so the quotient is exact and %d prints it the same'),
    # restore_plan.holder_path: a manifest that cannot be trusted makes the file unusable; None is as false as False
    (re.compile(r"^\s*usable = False$"), re.compile(r"^\s*usable = None$"), '`usable` is only tested for truth: None and False are both false'),
    # errors.clean_text: str() of a text is the text
    (re.compile(r"value if isinstance\(value, str\) else str\(value\)"), re.compile(r"value if \(isinstance\(value, str\)\) and False else str\(value\)"),
     'str() of a text is the same text'),
    # restore_plan: an empty list gives the same result by either branch
    (re.compile(r"if values else '\[\]'"), re.compile(r"if \(values\) or True else '\[\]'"), "for no values the join gives '[]' too"),
    (re.compile(r"by_parity_groups\(groups\) if groups else \[\]"), re.compile(r"by_parity_groups\(groups\) if \(groups\) or True else \[\]"),
     'by_parity_groups([]) reads nothing and returns [] too'),
    (re.compile(r"validate\.parity_group_ids\(params\.get\('parity_groups'\), 'parity_groups'\)"),
     re.compile(r"validate\.parity_group_ids\(params\.get\('parity_groups'\), \)"), "the default name of parity_group_ids is 'parity_groups'"),
    # manifest.read: the read is bounded to keep memory low; the length check after it refuses the same files
    (re.compile(r"raw = handle\.read\(MAX_MANIFEST_BYTES \+ 1\)"), re.compile(r"raw = handle\.read\((None|MAX_MANIFEST_BYTES \+ 2)\)"),
     'reading more only costs memory: the length check that follows refuses exactly the same files'),
)
# Known equivalents that depend on the function a line is in: (part of the mutant's name, before, after, reason).
EQUIVALENT_IN = (
    ('\u01c1_BoundedRaw\u01c1stream__', re.compile(r"retryable=False\)"), re.compile(r"retryable=(None|True)\)"),
     'stream() turns the _BodyError into a VspApiError at once: its retryable flag is read only by _send, which never sees it'),
    ('x__place_new__', re.compile(r"os\.O_EXCL, 0o600\)"), re.compile(r"os\.O_EXCL, (385)?\)"),
     'the file only reserves the name: it is empty and replaced at once by the temp file, whose mode was set before'),
    ('x_parse_mode__', re.compile(r"mode & 0o7777 if mode >= 0 else 0"), re.compile(r"mode & 0o7777 if mode (> 0|>= 1) else 0"),
     'for the integer 0 both branches give 0'),
    ('x_write_new_backup_file__', re.compile(r"backup_file_name\(storage_device_id, now\)  # refuses"),
     re.compile(r"backup_file_name\(storage_device_id, (None)?\)  # refuses"),
     'this call only checks the storage device id (the name it makes is not used): the time does not change the check'),
    ('\u01c1VspClient\u01c1_send__', re.compile(r"self\._read_body\(response, method, path, JSON_MAX, deadline\)"),
     re.compile(r"self\._read_body\(response, (None, path|method, None), JSON_MAX, deadline\)"),
     '_read_body does not use the method and path it is given'),
    ('\u01c1VspClient\u01c1_send__', re.compile(r"^\s*auth = None$"), re.compile(r'^\s*auth = ""$'),
     'requests sends no credentials for an empty auth as for None'),
    ('\u01c1VspClient\u01c1_send__', re.compile(r"allow_redirects=False\)"), re.compile(r"allow_redirects=None\)"),
     'requests follows redirects only when allow_redirects is true: None is as false as False'),
    ('\u01c1VspClient\u01c1_send__', re.compile(r"json=json if files is None else None"), re.compile(r"json=json if \(files is None\) or True else None"),
     'requests builds the body from files when files are given and ignores json then'),
    ('\u01c1VspClient\u01c1request__', re.compile(r"auth_mode='session', token=token, idempotent=idempotent, limit=limit\)"),
     re.compile(r"^\s*token=token, idempotent=idempotent, limit=limit\)"), "auth_mode='session' is the default of _send"),
    ('\u01c1VspClient\u01c1logout__', re.compile(r"session_id\), auth_mode='session', json=\{\}, idempotent=True\)"),
     re.compile(r"session_id\), json=\{\}, idempotent=True\)"), "auth_mode='session' is the default of _send"),
    ('\u01c1VspClient\u01c1logout__', re.compile(r"^\s*self\._token = None$"), re.compile(r'^\s*self\._token = ""$'),
     'logout runs when the client closes: the token is not used again'),
    ('x__id_order__', re.compile(r"else \(1, str\(key_id\)\)"), re.compile(r"else \(2, str\(key_id\)\)"),
     'only the order matters: numbered ids rank 0, so any higher rank sorts the other ids after them alike'),
)
# A response header read by name: requests' Response.headers is a case-insensitive dict, so a mutant that
# only changes the case of the name (not one that adds XX) reads the same header.
HEADER_READ = re.compile(r"""\.headers(?:\.get\(|\[)(['"])([A-Za-z0-9-]+)\1""")
HEADER_REASON = "an HTTP header name differs only in case: requests' response.headers is case-insensitive"


def _case_only(pattern, group, before, after):
    """True when the names ``pattern`` finds (its group ``group``) differ only in case, and nothing else does."""
    names_before = [m.group(group) for m in pattern.finditer(before)]
    names_after = [m.group(group) for m in pattern.finditer(after)]
    if not names_before or len(names_before) != len(names_after) or names_before == names_after:
        return False
    if [n.lower() for n in names_before] != [n.lower() for n in names_after]:
        return False
    return pattern.sub(lambda m: m.group(0).lower(), before) == pattern.sub(lambda m: m.group(0).lower(), after)


# A codec or hash name whose mutant only changes its case ('utf-8' → 'UTF-8', 'sha256' → 'SHA256'):
# Python looks codec names up case-insensitively, and hashlib (OpenSSL) hash names too.
NAME_ARG = re.compile(r"""(\.encode\(|\.decode\(|hashlib\.pbkdf2_hmac\(|hashlib\.new\()(['"])([A-Za-z0-9_-]+)\2""")
NAME_REASON = 'a codec or hash name differs only in case: Python and hashlib look these names up case-insensitively'


def _number(match):
    try:
        return str(int(match.group(0), 0))
    except ValueError:  # a literal such as 010 is not Python 3 syntax: leave it
        return match.group(0)


def _numbers(line):
    return NUMBER.sub(_number, line)


def _changed(diff):
    removed = [ln[1:] for ln in diff.splitlines() if ln.startswith('-') and not ln.startswith('---')]
    added = [ln[1:] for ln in diff.splitlines() if ln.startswith('+') and not ln.startswith('+++')]
    return removed, added


def classify(diff, name=''):
    """``(class, reason)``: ``equivalent``, ``text`` (only string literals differ) or ``logic``.

    ``name``: the mutant's name (for the equivalents known only in one function)."""
    removed, added = _changed(diff)
    if removed and len(removed) == len(added):
        pairs = list(zip(removed, added))
        if all(_numbers(a) == _numbers(b) for a, b in pairs):
            return 'equivalent', 'the same number written another way (for example 0o600 and 385)'
        for before, after, reason in EQUIVALENT:
            if any(before.search(a) and after.search(b) for a, b in pairs):
                return 'equivalent', reason
        for where, before, after, reason in EQUIVALENT_IN:
            if where in name and any(before.search(a) and after.search(b) for a, b in pairs):
                return 'equivalent', reason
        if all(_case_only(HEADER_READ, 2, a, b) for a, b in pairs):
            return 'equivalent', HEADER_REASON
        if all(_case_only(NAME_ARG, 3, a, b) for a, b in pairs):
            return 'equivalent', NAME_REASON
        if all(_strip_strings(a) == _strip_strings(b) for a, b in pairs):
            return 'text', 'only a string literal differs'
    return 'logic', 'not killed: no test observes this change'


def changed_line(diff, width=110):
    removed, added = _changed(diff)
    text = (added[0].strip() if added else '(line removed)')
    return (text[:width] + '...') if len(text) > width else text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--min', type=float, default=90.0)
    parser.add_argument('--out', default='mutation-report.md')
    args = parser.parse_args()
    rows = []
    survivors = []
    totals = collections.Counter()
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        if not data.exit_code_by_key:
            continue
        counts = collections.Counter(status_by_exit_code[v] for v in data.exit_code_by_key.values())
        totals.update(counts)
        rows.append((str(path).rsplit('/', 1)[-1], counts))
        for key, code in sorted(data.exit_code_by_key.items()):
            if status_by_exit_code[code] in ('survived', 'timeout', 'no tests', 'suspicious'):
                diff = get_diff_for_mutant(key, path=path)
                survivors.append((key, status_by_exit_code[code], classify(diff, key), diff))
    checked = sum(n for s, n in totals.items() if s != 'not checked')
    killed = totals['killed']
    score = 100.0 * killed / checked if checked else 0.0
    lines = ['| module | mutants | killed | survived | timeout | no tests |', '|---|---:|---:|---:|---:|---:|']
    for name, c in rows:
        lines.append('| %s | %d | %d | %d | %d | %d |' % (name, sum(c.values()), c['killed'], c['survived'], c['timeout'], c['no tests']))
    lines.append('| **all** | %d | %d | %d | %d | %d |' % (sum(totals.values()), killed, totals['survived'], totals['timeout'], totals['no tests']))
    classes = collections.Counter(cls[0] for _, status, cls, _ in survivors if status == 'survived')
    summary = '\n'.join(lines) + '\n\nscore: %.1f %% killed (%d of %d checked; %d not checked)\nsurvivors by class: %s\n' % (
        score, killed, checked, totals['not checked'], dict(classes))
    print(summary)
    with open(args.out, 'w') as out:
        out.write('# mutmut survivors\n\n' + summary + '\n')
        out.write('| mutant | status | class | mutated line | reason |\n|---|---|---|---|---|\n')
        for key, status, cls, diff in survivors:
            name = key.replace('ansible_collections.vsp.encryption.plugins.module_utils.', '').replace(
                'ansible_collections.vsp.encryption.plugins.plugin_utils.', '')
            line = changed_line(diff).replace('|', '\\|').replace('`', "'")
            out.write('| `%s` | %s | %s | `%s` | %s |\n' % (name, status, cls[0], line, cls[1]))
        out.write('\n')
    with open(args.out + '.diffs', 'w') as out:
        for key, status, cls, diff in survivors:
            out.write('## %s (%s, %s)\n\n```diff\n%s\n```\n\n' % (key, status, cls[0], diff.strip()))
    print('survivors written to %s' % args.out)
    if score < args.min:
        print('mutation score %.1f %% is below %.1f %%' % (score, args.min))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
