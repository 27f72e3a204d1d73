#!/usr/bin/python3
"""Runs every ```sql block of the documentation against the demo, printing TAP lines.

  test/docs/snippets.py                 start the demo (test/demo/run) in a throwaway
                                        cluster, run the blocks, stop and remove it
  test/docs/snippets.py --port PORT     run them against a demo already running on PORT
                                        (make demo: 54320), and leave it running

Every ```sql block of README.md, CONTRIBUTING.md, docs/*.md and examples/**/*.md
(fenced, indented in a list item or not) runs in a psql session of its own on the
demo's database, inside BEGIN ... ROLLBACK, so no block sees another's changes:
`ok N - docs/x.md:LINE`, or `not ok N - docs/x.md:LINE: <the error>`.  A block that
ends the transaction itself (COMMIT, ROLLBACK) fails too, as it would change the demo.

A block that cannot run on the demo says so on the line before its fence:

  <!-- snippet: skip (why: a server setting, another server's objects, ...) -->
      reported as `ok N - docs/x.md:LINE # SKIP why`; the reason is required
  <!-- snippet: setup SQL -->
      SQL run first, in the block's transaction (a model to backtest, say)

A marker that is not right before a ```sql fence fails.  The demo is started with
its defaults (the fixed day VIGIL_DEMO_DATE and its size), whatever the
environment says, so that every run gives the same answer.  Environment:
VIGIL_SNIPPETS_PORT (the first port tried for the demo, 54334), PG_CONFIG.

Python 3 standard library, and psql.  Exits 1 if any block failed.
"""

import glob
import os
import re
import signal
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PAGES = ["README.md", "CONTRIBUTING.md", "docs/*.md", "examples/**/*.md"]
CLUSTER = "tmp/snippets-demo"
PG_CONFIG = os.environ.get("PG_CONFIG", "/usr/lib/postgresql/15/bin/pg_config")
BINDIR = subprocess.run([PG_CONFIG, "--bindir"], capture_output=True, text=True,
                        check=True).stdout.strip()
TIMEOUT = 120                   # seconds a block may take, setup included

MARKER = re.compile(r"^\s*<!--\s*snippet:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^( {0,12})(`{3,}|~{3,})\s*([^`\s]*)")
GUARD = "snippet-in-transaction:"


def pages():
    out = []
    for p in PAGES:
        for f in sorted(glob.glob(os.path.join(TOP, p), recursive=True)):
            rel = os.path.relpath(f, TOP)
            if not rel.startswith("tmp/") and rel not in out:
                out.append(rel)
    return out


def blocks(rel):
    """(line, sql, marker, problem) for each ```sql block of a page, and for
    each marker that is not right before one (sql None, problem set)."""
    lines = open(os.path.join(TOP, rel), encoding="utf-8").read().split("\n")
    marker = None               # (line, text) of the marker before the next fence
    i = 0
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line)
        if m:
            if marker:
                yield marker[0], None, None, "two snippet markers in a row"
            marker = (i + 1, m.group(1))
            i += 1
            continue
        f = FENCE.match(line)
        if not f:
            if line.strip() and marker:
                yield marker[0], None, None, "snippet marker not followed by a ```sql fence"
                marker = None
            i += 1
            continue
        indent, fence, lang = len(f.group(1)), f.group(2), f.group(3)
        body = []
        start = i + 1
        i += 1
        while i < len(lines):
            c = FENCE.match(lines[i])
            if c and c.group(2)[0] == fence[0] and len(c.group(2)) >= len(fence) and not c.group(3):
                break
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        i += 1
        if lang == "sql":
            yield start, "\n".join(body), marker[1] if marker else None, None
        elif marker:
            yield marker[0], None, None, "snippet marker before a ```%s fence, not ```sql" % lang
        marker = None
    if marker:
        yield marker[0], None, None, "snippet marker at the end of the page"


def run_block(port, sql, setup, cwd):
    """Runs one block in BEGIN ... ROLLBACK; returns None or the error."""
    script = ("BEGIN;\nSET LOCAL snippet.open = 'yes';\n" + (setup + "\n" if setup else "")
              + sql + "\nSELECT '" + GUARD + "' || coalesce(current_setting('snippet.open', true), '');\n"
              "ROLLBACK;\n")
    env = dict(os.environ, PGOPTIONS="-c client_min_messages=warning -c statement_timeout=%ds" % TIMEOUT)
    try:
        r = subprocess.run([os.path.join(BINDIR, "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                            "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "vigil_demo",
                            "-f", "-"], input=script, capture_output=True, text=True, cwd=cwd,
                           env=env, timeout=TIMEOUT + 30)
    except subprocess.TimeoutExpired:
        return "timed out after %d s" % (TIMEOUT + 30)
    if r.returncode != 0:
        errors = [l for l in r.stderr.splitlines() if "ERROR:" in l or "FATAL:" in l]
        first = (errors or r.stderr.strip().splitlines() or ["psql exited with %d" % r.returncode])[0]
        return re.sub(r"^psql:<stdin>:\d+: ", "", first)
    if GUARD + "yes" not in r.stdout.splitlines():
        return "the block ended the demo's transaction (COMMIT, ROLLBACK or the like): mark or change it"
    return None


def main():
    args = sys.argv[1:]
    own = not (len(args) == 2 and args[0] == "--port")
    if args and own:
        sys.exit(__doc__)
    os.chdir(TOP)
    todo = [(rel,) + b for rel in pages() for b in blocks(rel)]
    # a TERM (make interrupted, say) still stops the demo, in the finally below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_DEMO_")}
    failed = 0
    try:
        if own:
            port = subprocess.run(["test/cluster.sh", "port", os.environ.get("VIGIL_SNIPPETS_PORT", "54334")],
                                  capture_output=True, text=True, check=True).stdout.strip()
            env.update(VIGIL_DEMO_PORT=port, VIGIL_DEMO_CLUSTER=CLUSTER,
                       PATH=BINDIR + ":" + os.environ.get("PATH", ""))
            print("# the demo (test/demo/run start) in %s on port %s" % (CLUSTER, port))
            sys.stdout.flush()
            r = subprocess.run(["test/demo/run", "start"], env=env, capture_output=True, text=True)
            if r.returncode != 0:
                for l in (r.stdout + r.stderr).splitlines()[-30:]:
                    print("# " + l)
                print("1..1\nnot ok 1 - the demo did not start (exit %d); no block ran" % r.returncode)
                return 1
        else:
            port = args[1]
        print("1..%d" % len(todo))
        with tempfile.TemporaryDirectory(prefix="vigil-snippets-") as cwd:
            os.chmod(cwd, 0o755)
            for n, (rel, line, sql, marker, problem) in enumerate(todo, 1):
                where = "%s:%d" % (rel, line)
                setup = None
                if problem:
                    error = problem
                elif marker and marker.startswith("skip"):
                    why = re.fullmatch(r"skip\s*\((.+)\)", marker)
                    if why:
                        print("ok %d - %s # SKIP %s" % (n, where, why.group(1)))
                        continue
                    error = "a skip marker needs its reason: <!-- snippet: skip (why) -->"
                elif marker and not marker.startswith("setup "):
                    error = "unknown snippet marker '%s' (skip (why) or setup SQL)" % marker
                else:
                    if marker:
                        setup = marker[len("setup "):]
                    error = run_block(port, sql, setup, cwd)
                if error:
                    failed += 1
                    print("not ok %d - %s: %s" % (n, where, error))
                else:
                    print("ok %d - %s" % (n, where))
                sys.stdout.flush()
    finally:
        if own:
            subprocess.run(["test/demo/run", "stop"], env=env, stdout=subprocess.DEVNULL)
            subprocess.run(["test/cluster.sh", "destroy", CLUSTER], env=env)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
