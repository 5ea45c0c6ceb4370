"""The examples of README.md and docs/*.md, as the docs mark them (issue 31).

Every fenced block of a page is an example, and the line right before its opening fence says what it is:

    <!-- example: run -->                     console lines a user types in the project, in order
    <!-- example: run given=keys-lost -->     ... once the array is in that state (see GIVEN in the test)
    <!-- example: run setup -->               ... and every other page's project starts with it
    <!-- example: file PATH -->               a file the user writes into the project as shown
    <!-- example: shipped PATH -->            the text of a file the collection ships (PATH in the installed collection)
    <!-- example: output -->                  what a run prints (not a command)
    <!-- example: tested by tests/...py -->   run by that test, which reads it out of the page
    <!-- example: not run: REASON -->         cannot run here (a controller, podman, a CI service); parsed only

tests/ecosystem/test_docs_examples.py runs them; an unmarked block fails it.
"""
import glob
import os
import re

from ecosystem_helpers import ROOT

KINDS = ("run", "file", "shipped", "output", "tested by", "not run")
MARKER = re.compile(r"^\s*<!-- example: (?P<kind>run|file|shipped|output|tested by|not run)(?::| |(?= -->))(?P<args>.*?) ?-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[a-z]*)\s*$")


class Example:
    def __init__(self, page, line, kind, args, lang, text):
        self.page, self.line, self.kind, self.lang, self.text = page, line, kind, lang, text
        self.args = args.strip()

    @property
    def where(self):
        return "%s:%d" % (self.page, self.line)

    @property
    def options(self):
        """`run` options: {'given': 'keys-lost', 'setup': True, 'rc': '2'}."""
        found = {}
        for word in self.args.split():
            name, dummy, value = word.partition("=")
            found[name] = value or True
        return found

    def __repr__(self):
        return "<example %s %s %s>" % (self.where, self.kind, self.args)


def pages():
    """README.md and every page of docs/, relative to the repository root."""
    return ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))


def read_page(page):
    with open(os.path.join(ROOT, page)) as handle:
        return handle.read()


def examples(page, text=None):
    """Every fenced block of the page as an Example; kind None when the line before it is no marker."""
    lines = (read_page(page) if text is None else text).split("\n")
    found, i = [], 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and not re.match(r"^\s*```\s*$", lines[end]):
            end += 1
        indent = len(fence.group("indent"))
        body = "\n".join(line[indent:] for line in lines[i + 1:end]) + "\n"
        marker = MARKER.match(lines[i - 1]) if i else None
        found.append(Example(page, i + 1, marker.group("kind") if marker else None,
                             marker.group("args") if marker else "", fence.group("lang"), body))
        i = end + 1
    return found


def commands(text):
    """The commands of a console block as a user types them: comments and blank lines dropped, a line ending
    in a backslash joined with the next, a trailing comment kept (the shell ignores it)."""
    joined, current = [], ""
    for line in text.split("\n"):
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line + "\n"
        if not line.endswith("\\"):
            joined.append(current.rstrip("\n"))
            current = ""
    if current:
        joined.append(current.rstrip("\n"))
    return joined
