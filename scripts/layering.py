#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check that the module's files call each other without loops.

Lower layers never call upward: for every pair of files under src/ and
common/, calls may go one way only, and no chain of calls between files may
come back to where it started.  A call through a function pointer (an ops
table) is not a call here, as in XFS's defer and log item ops.

Usage: layering.py [--graph] [DIR...]   (default: src common)
Prints the file-level call graph with --graph, each loop found, and exits 1
if there is one.
"""
import re
import sys
from pathlib import Path

DEF_RE = re.compile(r'^(?:[A-Za-z_][\w \*]*?[\s\*])?(\w+)\([^;]*$', re.M)
CALL_RE = re.compile(r'\b(\w+)\s*\(')
COMMENT_RE = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
STRING_RE = re.compile(r'"(?:\\.|[^"\\])*"')


def strip(text):
    return STRING_RE.sub('""', COMMENT_RE.sub(' ', text))


def functions_defined(text):
    """Names of functions defined at file scope: name(...) then { at col 0."""
    names = set()
    lines = text.split('\n')
    for i, line in enumerate(lines):
        m = DEF_RE.match(line)
        if not m or line.startswith((' ', '\t', '#')):
            continue
        if m.group(1) in ('if', 'for', 'while', 'switch', 'return'):
            continue
        for j in range(i, min(i + 8, len(lines))):
            if lines[j].startswith('{'):
                names.add(m.group(1))
                break
            if lines[j].rstrip().endswith(';'):
                break
    return names


def label(f):
    return f'{f.parent.name}/{f.stem}'


def main(argv):
    show = '--graph' in argv
    dirs = [a for a in argv if not a.startswith('--')] or ['src', 'common']
    files = sorted(p for d in dirs for p in Path(d).glob('*.c'))
    text = {f: strip(f.read_text()) for f in files}
    owner = {}
    for f in files:
        for name in functions_defined(text[f]):
            # a static helper of the same name in two files is no edge
            owner.setdefault(name, set()).add(f)
    edges = {f: set() for f in files}
    for f in files:
        for name in set(CALL_RE.findall(text[f])):
            for g in owner.get(name, ()):
                if g != f and len(owner[name]) == 1:
                    edges[f].add(g)

    if show:
        for f in files:
            print(f'{label(f)}: ' + ' '.join(sorted(label(g) for g in edges[f])))

    # Tarjan's strongly connected components: any with two or more files
    # is a call loop.
    index, low, stack, on, loops = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                loops.append(comp)

    sys.setrecursionlimit(10000)
    for f in files:
        if f not in index:
            visit(f)
    for comp in loops:
        names = sorted(label(c) for c in comp)
        print('call loop between files: ' + ', '.join(names))
        for a in sorted(comp):
            back = sorted(label(b) for b in edges[a] if b in comp)
            print(f'  {label(a)} -> {" ".join(back)}')
    return 1 if loops else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
