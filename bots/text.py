"""What text Desk stores, from bots and from agents.

Two kinds of text are refused wherever text comes in (the bot API's fields, the
agent's composer): text with a NUL character, which PostgreSQL cannot store, or an
unpaired surrogate, which is not Unicode at all; and text that only looks filled in,
made of zero-width and other invisible characters, which every page would show as
blank. `text_problem` names what is wrong; each entry point words it for its readers.
"""

import re
import unicodedata
from enum import StrEnum

from django.utils.translation import gettext_noop

_SURROGATE = re.compile("[\ud800-\udfff]")

# Characters that show nothing, besides controls (Cc), format characters (Cf: zero-width
# space and joiners, word joiner, BOM, direction marks) and separators (Z*): the Hangul
# fillers, the combining grapheme joiner, the braille blank and the variation selectors.
_BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u034f\u2800")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


class TextProblem(StrEnum):
    NUL = "nul"
    SURROGATE = "surrogate"
    INVISIBLE = "invisible"  # only invisible characters, some of them not whitespace
    BLANK = "blank"  # empty, or only whitespace


def _invisible(character: str) -> bool:
    code = ord(character)
    return (
        unicodedata.category(character) in _INVISIBLE_CATEGORIES
        or character in _BLANK_CHARACTERS
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
    )


def text_problem(text: str) -> TextProblem | None:
    """What keeps `text` from being stored as written, or None. BLANK is a problem only
    where a value is required: an optional field may be left blank."""
    if "\x00" in text:
        return TextProblem.NUL
    if _SURROGATE.search(text):
        return TextProblem.SURROGATE
    if any(not _invisible(character) for character in text):
        return None
    if text.strip() == "":
        return TextProblem.BLANK
    return TextProblem.INVISIBLE


# How a bad value is described, in a 422's `fields` (after the field's name).
FIELD_PROBLEMS = {
    TextProblem.NUL: "must not contain the NUL character (\\u0000)",
    TextProblem.SURROGATE: "must be valid Unicode (no unpaired surrogates)",
    TextProblem.INVISIBLE: "must have visible characters, not only zero-width or other "
    "invisible ones",
    TextProblem.BLANK: "must not be blank",
}

# The same, for a message someone wrote (an end user through the bot, or an agent): in
# English as they stand (the bot API's words); marked for translation, for the agent's
# composer to word them in the agent's language (`desk.transcript.clean_text`).
MESSAGE_PROBLEMS = {
    TextProblem.NUL: gettext_noop(
        "The message contains a NUL character (\\u0000), which cannot be stored."
    ),
    TextProblem.SURROGATE: gettext_noop(
        "The message is not valid Unicode (it has an unpaired surrogate)."
    ),
    TextProblem.INVISIBLE: gettext_noop(
        "The message has only invisible characters (such as zero-width spaces): write some text."
    ),
    TextProblem.BLANK: gettext_noop("The message is empty."),
}
