#!/usr/bin/env python3
"""Summaries of fstests runs for scripts/fstests.sh.

  fstests-report.py summary RESULTDIR JOBLOG
      One line per test, tab-separated: test, pass|fail|notrun|incomplete,
      reason.  From fstests' RESULTDIR/result.xml (check -R xunit), and
      for tests it lacks from check's output in JOBLOG (a test started but
      without a result is "incomplete": the guest died or timed out in it).

  fstests-report.py compare DIR...
      A Markdown table, one row per test, one column per DIR (a section's
      output directory: its name is the column's, its summary.tsv the
      results), and the reasons where the results differ.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

# check's progress lines: "generic/001 3s ...  3s", "generic/002 [not run]
# why", "generic/003 - output mismatch (see ...)", "generic/004 [failed, exit
# status 1]- output mismatch ...", "generic/005 _check_generic_filesystem: ...".
TEST_RE = re.compile(r'^([a-z0-9]+/[0-9]+)(?:\s+(.*))?$')


def from_xml(path):
    rows = []
    for case in ET.parse(path).getroot().iter('testcase'):
        name = case.get('name')
        skipped = case.find('skipped')
        failure = case.find('failure')
        if failure is not None:
            rows.append((name, 'fail', failure.get('message', '')))
        elif skipped is not None:
            rows.append((name, 'notrun', skipped.get('message', '')))
        else:
            rows.append((name, 'pass', ''))
    return rows


def from_log(path):
    rows = {}
    order = []
    with open(path, errors='replace') as f:
        for line in f:
            m = TEST_RE.match(line.rstrip('\n'))
            if not m:
                continue
            name, rest = m.group(1), (m.group(2) or '').strip()
            if name not in rows:
                order.append(name)
            if '[not run]' in rest:
                rows[name] = ('notrun', rest.split('[not run]', 1)[1].strip())
            elif '[expunged]' in rest:
                rows[name] = ('notrun', 'expunged')
            elif re.search(r'\d+s$', rest) and 'mismatch' not in rest:
                rows[name] = ('pass', '')
            elif rest:
                rows[name] = ('fail', rest)
            else:
                rows[name] = ('incomplete', 'no result: the guest ended in it')
    return [(n,) + rows[n] for n in order]


def summary(resultdir, joblog):
    # check rewrites result.xml after each test: a guest that died in a
    # test leaves it without that test, which only the log shows.
    xml = os.path.join(resultdir, 'result.xml')
    rows = from_xml(xml) if os.path.exists(xml) else []
    seen = set(r[0] for r in rows)
    if os.path.exists(joblog):
        rows += [r for r in from_log(joblog) if r[0] not in seen]
    for name, status, reason in rows:
        print('%s\t%s\t%s' % (name, status, ' '.join(reason.split())))


def read_tsv(path):
    res = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.rstrip('\n').split('\t')
                if len(parts) >= 2:
                    res[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else '')
    return res


def compare(dirs):
    names = [os.path.basename(d.rstrip('/')) for d in dirs]
    data = [read_tsv(os.path.join(d, 'summary.tsv')) for d in dirs]
    tests = sorted(set().union(*[set(d) for d in data]))
    print('| test | ' + ' | '.join(names) + ' | reasons where they differ |')
    print('|---' * (len(names) + 2) + '|')
    for t in tests:
        res = [d.get(t, ('-', '')) for d in data]
        why = ''
        if len(set(r[0] for r in res)) > 1 or any(r[0] == 'fail' for r in res):
            why = '; '.join('%s: %s' % (n, r[1]) for n, r in zip(names, res)
                            if r[1])
        print('| %s | %s | %s |' % (t, ' | '.join(r[0] for r in res),
                                    why.replace('|', '/')))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == 'summary':
        summary(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == 'compare':
        compare(sys.argv[2:])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
