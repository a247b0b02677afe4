"""The customer a ticket is about, beyond their name and email: the custom fields their
bot sends with startHitl (`customFields`), and the rule they must keep.

Custom fields are a flat object: at most `MAX_CUSTOM_FIELDS` keys, each 1 to
`MAX_KEY_LENGTH` characters, each value a string (at most `MAX_VALUE_LENGTH`
characters), a finite number or a boolean. Nothing nested, no null: the side bar shows
them as a list of names and values, and the inbox search reads them.
"""

import math
from typing import Any

from bots.text import FIELD_PROBLEMS, TextProblem, text_problem
from desk.content import invalid

MAX_CUSTOM_FIELDS = 50
MAX_KEY_LENGTH = 64
MAX_VALUE_LENGTH = 1000

FIELD = "customFields"


def clean_custom_fields(value: Any) -> dict[str, str | int | float | bool]:
    """The custom fields as Desk keeps them, or InvalidInput naming every bad key
    (`customFields.<key>`), or `customFields` itself for the object as a whole."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid({FIELD: "must be an object of names and values"})
    if len(value) > MAX_CUSTOM_FIELDS:
        raise invalid({FIELD: f"must have at most {MAX_CUSTOM_FIELDS} keys, not {len(value)}"})
    errors: dict[str, str] = {}
    for key, item in value.items():
        path = f"{FIELD}.{key}"
        problem = _key_problem(key)
        if problem is None:
            problem = _value_problem(item)
        if problem is not None:
            errors[path] = problem
    if errors:
        raise invalid(errors)
    return dict(value)


def _key_problem(key: object) -> str | None:
    if not isinstance(key, str):
        return "a key must be a string"
    if len(key) > MAX_KEY_LENGTH:
        return f"a key must be at most {MAX_KEY_LENGTH} characters, not {len(key)}"
    problem = text_problem(key)
    if problem is not None:
        return "the key " + FIELD_PROBLEMS[problem]
    return None


def _value_problem(item: object) -> str | None:
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return None
    if isinstance(item, float):
        return None if math.isfinite(item) else "must be a finite number"
    if isinstance(item, str):
        if len(item) > MAX_VALUE_LENGTH:
            return f"must be at most {MAX_VALUE_LENGTH} characters, not {len(item)}"
        problem = text_problem(item)
        if problem in (TextProblem.NUL, TextProblem.SURROGATE):
            return FIELD_PROBLEMS[problem]
        return None
    return "must be a string, a number or a boolean (nothing nested, no null)"


def shown_custom_fields(fields: dict) -> list[tuple[str, object]]:
    """(name, value) pairs in the order the side bar lists them: by name, whatever order
    the database kept them in (PostgreSQL's jsonb keeps its own)."""
    return sorted(fields.items(), key=lambda pair: (pair[0].casefold(), pair[0]))
