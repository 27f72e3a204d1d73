#!/usr/bin/python3
"""Checks pg_vigil's documentation against the tree, printing TAP lines.

  test/docs/check.py [TOP]

1. Every relative link in README.md, CONTRIBUTING.md, CHANGELOG.md,
   docs/*.md and examples/**/*.md names a file or directory that exists, and
   every #anchor a heading of its target (GitHub's slugs).
2. docs/sql-reference.md names every function, procedure, aggregate, type,
   table and view the extension script creates (src/sql/*.sql, from which
   the Makefile assembles it) and every vigil.* setting (DefineCustom*Variable
   in src/), each written vigil.NAME.
3. Every vigil.NAME the user documentation writes (README.md, CONTRIBUTING.md,
   docs/*.md) is one of those, so no page documents a name that is not there.

Python 3 standard library only.  Exits 1 if any check failed.
"""

import glob
import os
import re
import sys
import unicodedata

TOP = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                      os.path.join(os.path.dirname(__file__), "..", ".."))

LINKED_PAGES = ["README.md", "CONTRIBUTING.md", "CHANGELOG.md", "docs/*.md", "examples/**/*.md"]
USER_PAGES = ["README.md", "CONTRIBUTING.md", "docs/*.md"]
SQL_REFERENCE = "docs/sql-reference.md"

# vigil.NAME strings in the pages that are files, not SQL objects.
FILE_NAMES = {"control", "so", "c", "o"}

n = 0
failed = 0


def report(ok, what):
    global n, failed
    n += 1
    if not ok:
        failed += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (n, what))


def pages(patterns):
    out = []
    for p in patterns:
        for f in sorted(glob.glob(os.path.join(TOP, p), recursive=True)):
            rel = os.path.relpath(f, TOP)
            if rel.startswith("tmp/") or rel in out:
                continue
            out.append(rel)
    return out


def prose_lines(text):
    """The lines of a Markdown text outside fenced code blocks, with their numbers."""
    fence = None
    for i, line in enumerate(text.split("\n"), 1):
        m = re.match(r"^ {0,3}(`{3,}|~{3,})", line)
        if m:
            if fence is None:
                fence = m.group(1)
                continue
            if m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
                continue
        if fence is None:
            yield i, line


def without_code_spans(line):
    return re.sub(r"(`+)(.+?)\1", "", line)


def slug(heading):
    """GitHub's anchor for a heading: its text without Markdown, lower case,
    only letters, digits, spaces, hyphens and underscores kept, spaces made
    hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)   # links, images: their text
    text = re.sub(r"<[^>]+>", "", text)                          # HTML tags
    text = text.replace("`", "")
    text = re.sub(r"(\*\*|__|\*|_(?=\W)|(?<=\W)_)", "", " " + text + " ").strip()
    out = []
    for ch in text.lower():
        cat = unicodedata.category(ch)
        if ch in " -_" or cat[0] in "LN" or cat == "Mn":
            out.append("-" if ch == " " else ch)
    return "".join(out)


_anchors = {}


def anchors(rel):
    """The anchors of the headings of a Markdown file, as GitHub numbers repeats."""
    if rel in _anchors:
        return _anchors[rel]
    seen = {}
    found = set()
    with open(os.path.join(TOP, rel), encoding="utf-8") as f:
        lines = list(prose_lines(f.read()))
    heads = []
    for k, (_, line) in enumerate(lines):
        m = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            heads.append(m.group(1))
        elif (k > 0 and re.match(r"^ {0,3}(=+|-+)\s*$", line) and lines[k - 1][1].strip()
              and lines[k - 1][0] == lines[k][0] - 1 and not lines[k - 1][1].startswith(("|", "-", "*"))):
            heads.append(lines[k - 1][1].strip())
    for line in lines:
        for m in re.finditer(r"<a\s+(?:name|id)=\"([^\"]+)\"", line[1]):
            found.add(m.group(1))
    for h in heads:
        s = slug(h)
        if s in seen:
            seen[s] += 1
            found.add("%s-%d" % (s, seen[s]))
        else:
            seen[s] = 0
            found.add(s)
    _anchors[rel] = found
    return found


LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)")


def check_links():
    for rel in pages(LINKED_PAGES):
        with open(os.path.join(TOP, rel), encoding="utf-8") as f:
            text = f.read()
        targets = []
        for i, line in prose_lines(text):
            line = without_code_spans(line)
            targets += [(i, m.group(1)) for m in LINK.finditer(line)]
            m = REF.match(line)
            if m:
                targets.append((i, m.group(1)))
        for i, target in targets:
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
                continue        # http:, https:, mailto:
            path, _, anchor = target.partition("#")
            where = "%s:%d: %s" % (rel, i, target)
            if path:
                dest = os.path.normpath(os.path.join(os.path.dirname(rel), path))
                if dest.startswith("..") or not os.path.exists(os.path.join(TOP, dest)):
                    report(False, where + " (no such file)")
                    continue
            else:
                dest = rel
            if anchor:
                if not dest.endswith(".md") or not os.path.isfile(os.path.join(TOP, dest)):
                    report(False, where + " (an anchor into a file that is not Markdown)")
                    continue
                report(anchor in anchors(dest), where + ("" if anchor in anchors(dest)
                                                         else " (no such heading in %s)" % dest))
            else:
                report(True, where)


def sql_objects():
    """What the extension script creates: (kind, name) pairs, and its settings."""
    objects = {}
    for f in sorted(glob.glob(os.path.join(TOP, "src/sql/*.sql"))):
        with open(f, encoding="utf-8") as fh:
            text = fh.read()
        text = re.sub(r"--[^\n]*", "", text)
        for m in re.finditer(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?"
                             r"(FUNCTION|PROCEDURE|AGGREGATE|VIEW|TABLE|TYPE)\s+vigil\.(\w+)",
                             text, re.IGNORECASE):
            objects.setdefault(m.group(2), m.group(1).lower())
    settings = set()
    for f in sorted(glob.glob(os.path.join(TOP, "src/**/*.c"), recursive=True)):
        with open(f, encoding="utf-8") as fh:
            text = fh.read()
        settings.update(re.findall(r"DefineCustom\w+Variable\(\s*\"vigil\.(\w+)\"", text))
    return objects, settings


def check_reference(objects, settings):
    path = os.path.join(TOP, SQL_REFERENCE)
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    report(bool(objects) and bool(settings),
           "src/sql/*.sql creates %d objects, src/ defines %d settings" % (len(objects), len(settings)))
    for name, kind in sorted(objects.items()):
        found = re.search(r"\bvigil\.%s\b" % re.escape(name), text) is not None
        report(found, "%s vigil.%s is in %s" % (kind, name, SQL_REFERENCE))
    for name in sorted(settings):
        found = re.search(r"\bvigil\.%s\b" % re.escape(name), text) is not None
        report(found, "setting vigil.%s is in %s" % (name, SQL_REFERENCE))


def check_names(objects, settings):
    known = set(objects) | settings | FILE_NAMES
    for rel in pages(USER_PAGES):
        with open(os.path.join(TOP, rel), encoding="utf-8") as f:
            text = f.read()
        unknown = {}
        for i, line in enumerate(text.split("\n"), 1):
            for m in re.finditer(r"(?<![\w./-])vigil\.([a-z_][a-z0-9_]*)(?![\w…])", line):
                if m.group(1) not in known:
                    unknown.setdefault(m.group(1), i)
        if unknown:
            for name, i in sorted(unknown.items(), key=lambda x: x[1]):
                report(False, "%s:%d: vigil.%s is no object or setting of the extension" % (rel, i, name))
        else:
            report(True, "%s names only objects and settings the extension has" % rel)


def main():
    check_links()
    objects, settings = sql_objects()
    check_reference(objects, settings)
    check_names(objects, settings)
    print("1..%d" % n)
    print("# %d of %d checks failed" % (failed, n) if failed else "# all %d checks passed" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
