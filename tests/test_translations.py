"""Every user-facing string goes through Django's translation machinery, and the French,
German and Spanish catalogs translate all of them.

- The catalogs in locale/ hold every msgid that `makemessages` finds in the templates,
  the Python and static/*.js, and translate each one (no empty or fuzzy entry, the same
  placeholders as the English).
- No template holds bare text: words outside {% translate %} / {% blocktranslate %}
  in an element or in an attribute people read (title, placeholder, aria-label, …).
"""

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.template.base import Lexer, TokenType

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ["fr", "de", "es"]
DOMAINS = ["django", "djangojs"]
# The demo webchat is the customer's side of the demo bot: the bot's own website, in the
# bot's language, not Desk's interface.
NOT_DESK = ("demo/",)
# What the check reads in templates as people-facing text.
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "hx-confirm", "label"}
SKIP_ELEMENTS = {"script", "style", "code"}
# Blocks that hold class names, not words.
CLASS_BLOCKS = {"main_class", "body_class"}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]|\{\w+\}")


def catalogs():
    for lang in LANGUAGES:
        for domain in DOMAINS:
            yield lang, domain, ROOT / "locale" / lang / "LC_MESSAGES" / f"{domain}.po"


def key(entry: polib.POEntry) -> tuple:
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


@pytest.mark.parametrize("lang,domain,path", list(catalogs()), ids=lambda v: str(v)[-20:])
def test_every_catalog_translates_every_msgid_with_the_same_placeholders(lang, domain, path):
    catalog = polib.pofile(str(path))
    assert not catalog.metadata_is_fuzzy
    problems = []
    for entry in catalog:
        if entry.obsolete:
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {entry.msgid!r}")
        if not entry.translated():
            problems.append(f"untranslated: {entry.msgid!r}")
            continue
        wanted = sorted(PLACEHOLDER.findall(entry.msgid))
        found = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for text in found:
            if sorted(PLACEHOLDER.findall(text)) != wanted:
                problems.append(f"placeholders differ: {entry.msgid!r} → {text!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext's xgettext")
def test_makemessages_finds_no_msgid_the_catalogs_lack(tmp_path):
    """`make messages` on this tree would add nothing: every string marked for
    translation is in the catalogs (and none they hold is gone from the code)."""
    for part in ("desk", "bots", "approvals", "reports", "templates", "static", "manage.py"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / part)
    (tmp_path / "locale").mkdir()
    common = ["--no-location", "-l", "de"]
    for extra in ([], ["-d", "djangojs", "--ignore=templates"]):
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", *common, *extra],
            cwd=tmp_path, check=True, capture_output=True,
        )
    for domain in DOMAINS:
        fresh = {key(e) for e in polib.pofile(str(tmp_path / f"locale/de/LC_MESSAGES/{domain}.po"))}
        kept = {
            key(e) for e in polib.pofile(str(ROOT / f"locale/de/LC_MESSAGES/{domain}.po"))
            if not e.obsolete
        }
        assert not fresh - kept, f"{domain}: new msgids, run `make messages`: {fresh - kept}"
        assert not kept - fresh, f"{domain}: msgids no longer in the code: {kept - fresh}"


class _BareText(HTMLParser):
    """Collects the words of a template left after every tag of the template language
    was masked: text and read attributes outside <script>, <style> and <code>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skipping: list[str] = []
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in SKIP_ELEMENTS:
            self.skipping.append(tag)
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self.check(f"{tag}[{name}]", value)

    def handle_endtag(self, tag):
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data):
        if not self.skipping:
            self.check("text", data)

    def check(self, where: str, text: str) -> None:
        words = re.sub(r"\x00", " ", text)
        if any(ch.isalpha() for ch in words):
            self.found.append(f"{where}: {words.strip()!r}")


def bare_text(source: str) -> list[str]:
    masked, depth = [], 0
    problems = []
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            bits = token.contents.split()
            name = bits[0] if bits else ""
            if name in ("blocktranslate", "blocktrans", "comment") or (
                name == "block" and bits[1:2] and bits[1] in CLASS_BLOCKS
            ):
                depth += 1
            elif name in ("endblocktranslate", "endblocktrans", "endcomment") or (
                name == "endblock" and depth > 0
            ):
                depth -= 1
            masked.append(" \x00 ")
        elif token.token_type == TokenType.VAR:
            # A literal a page shows ({{ x|default:"Unknown" }}) is bare text too.
            for literal in re.findall(r'"([^"]*)"|\'([^\']*)\'', token.contents):
                text = "".join(literal)
                if token.contents.find("|date:") < 0 and any(ch.isalpha() for ch in text):
                    if re.search(r"\|(default|default_if_none):", token.contents):
                        problems.append(f"literal: {token.contents!r}")
            masked.append(" \x00 ")
        elif token.token_type == TokenType.TEXT and depth == 0:
            masked.append(token.contents)
        else:
            masked.append(" \x00 ")
    parser = _BareText()
    parser.feed("".join(masked))
    parser.close()
    return problems + parser.found


def test_the_checker_finds_bare_text():
    assert bare_text('<p title="Hello {{ x }}">{% translate "Hi" %} there</p>') == [
        "p[title]: 'Hello'", "text: 'there'",
    ]
    assert bare_text('{{ n|default:"Nobody" }}') == ["""literal: 'n|default:"Nobody"'"""]
    assert bare_text(
        '<p>{% blocktranslate %}Hi {{ x }}{% endblocktranslate %} · {{ y }} <code>PUT</code></p>'
        "<script>var a = 'b';</script>"
    ) == []


def templates():
    for path in sorted((ROOT / "templates").rglob("*.html")):
        name = path.relative_to(ROOT / "templates").as_posix()
        if not name.startswith(NOT_DESK):
            yield name


@pytest.mark.parametrize("name", list(templates()))
def test_no_template_holds_bare_text(name):
    found = bare_text((ROOT / "templates" / name).read_text())
    assert not found, f"{name}: words outside {{% translate %}}:\n" + "\n".join(found)
