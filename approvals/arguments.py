"""An approval's arguments and their JSON Schema: checking them, and the agent's form.

The bot sends `arguments` (a JSON object) and may describe them with
`argumentsSchema` (a JSON Schema object). Both are checked when the bot asks and
again when an agent edits the arguments: the schema against its own metaschema, the
arguments against the schema. Every problem is reported under the dotted path of
the value at fault (`arguments.amount`, `argumentsSchema.properties.amount.minimum`).

The approval page shows the arguments as a form built from the schema's top-level
properties: strings as text, numbers and integers with their minimum and maximum,
booleans as checkboxes, enums as selects, anything else as JSON in a text area.
"""

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from jsonschema import (
    Draft4Validator,
    Draft6Validator,
    Draft7Validator,
    Draft201909Validator,
    Draft202012Validator,
)
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from referencing.exceptions import Unresolvable

from desk.exceptions import InvalidInput

MAX_JSON_BYTES = 64 * 1024
MAX_REPORTED = 20  # problems named in one answer

_DIALECTS = {
    cls.META_SCHEMA["$schema"].rstrip("#")
    for cls in (
        Draft4Validator,
        Draft6Validator,
        Draft7Validator,
        Draft201909Validator,
        Draft202012Validator,
    )
}


def json_size(value: Any) -> int:
    """Bytes of `value` as compact UTF-8 JSON: what the 64 KiB limits count."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8", "surrogatepass"))  # a lone surrogate is refused later


def dotted(prefix: str, path) -> str:
    return ".".join([prefix, *(str(part) for part in path)])


def _refuse(fields: dict[str, str]) -> InvalidInput:
    names = ", ".join(fields)
    first = next(iter(fields))
    return InvalidInput(f"Invalid request: check {names}.", field=first, fields=fields)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_problems(value: Any, prefix: str) -> dict[str, str]:
    """Where a value no database stores as JSON hides: a NUL character or an unpaired
    surrogate in a key or a string, or a number that is not finite (NaN, Infinity)."""
    problems: dict[str, str] = {}

    def walk(item: Any, path: list) -> None:
        if len(problems) >= MAX_REPORTED:
            return
        if isinstance(item, float) and not math.isfinite(item):
            problems[dotted(prefix, path)] = "must be a finite number"
        elif isinstance(item, str):
            if _UNSTORABLE.search(item):
                problems[dotted(prefix, path)] = (
                    "must be valid Unicode without the NUL character"
                )
        elif isinstance(item, dict):
            for key, inner in item.items():
                if _UNSTORABLE.search(key):
                    problems[dotted(prefix, path)] = (
                        "has a key that is not valid Unicode or holds the NUL character"
                    )
                walk(inner, [*path, key])
        elif isinstance(item, list):
            for index, inner in enumerate(item):
                walk(inner, [*path, index])

    try:
        walk(value, [])
    except RecursionError:
        return {prefix: "is nested too deeply"}
    return problems


def check_schema(schema: dict) -> None:
    """Refuse a schema that is not a valid JSON Schema describing a JSON object."""
    if json_size(schema) > MAX_JSON_BYTES:
        raise _refuse({"argumentsSchema": "must be at most 64 KiB as JSON"})
    if problems := unstorable_problems(schema, "argumentsSchema"):
        raise _refuse(problems)
    dialect = schema.get("$schema")
    if dialect is not None and (
        not isinstance(dialect, str) or dialect.rstrip("#") not in _DIALECTS
    ):
        raise _refuse(
            {"argumentsSchema.$schema": "is not a JSON Schema dialect Desk knows "
             "(draft 4, 6, 7, 2019-09 or 2020-12)"}
        )
    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as error:
        raise _refuse({dotted("argumentsSchema", error.path): error.message}) from None
    except RecursionError:
        raise _refuse({"argumentsSchema": "is nested too deeply"}) from None
    kind = schema.get("type", "object")
    if kind != "object" and not (isinstance(kind, list) and "object" in kind):
        raise _refuse({"argumentsSchema.type": "must be \"object\": arguments are a JSON object"})


def validate(arguments: dict, schema: dict | None, *, prefix: str = "arguments") -> None:
    """Refuse arguments over 64 KiB or that the (already checked) schema does not accept."""
    if json_size(arguments) > MAX_JSON_BYTES:
        raise _refuse({prefix: "must be at most 64 KiB as JSON"})
    if problems := unstorable_problems(arguments, prefix):
        raise _refuse(problems)
    if schema is None:
        return
    problems = argument_problems(arguments, schema, prefix=prefix)
    if problems:
        raise _refuse(problems)


def argument_problems(arguments: Any, schema: dict, *, prefix: str = "arguments") -> dict:
    """{dotted path: what is wrong} for each way `arguments` fails the schema."""
    validator = validator_for(schema, default=Draft202012Validator)(schema)
    problems: dict[str, str] = {}
    try:
        errors = sorted(validator.iter_errors(arguments), key=lambda e: list(map(str, e.path)))
    except Unresolvable as error:
        return {
            "argumentsSchema": f"has a $ref Desk cannot resolve ({error}); "
            "only references inside the schema are followed"
        }
    except RecursionError:
        return {"argumentsSchema": "is nested too deeply"}
    for error in errors:
        path = list(error.path)
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [p for p in error.validator_value if p not in error.instance]
            if missing:
                path.append(missing[0])
        problems.setdefault(dotted(prefix, path), error.message)
        if len(problems) >= MAX_REPORTED:
            break
    return problems


# --- the agent's form ---------------------------------------------------------------------


@dataclass
class FormField:
    """One input of the approval form, for one top-level argument."""

    name: str  # the input's name: "arg-0", "arg-1", … (never a key the bot chose)
    key: str  # the argument's name
    kind: str  # text | textarea | number | checkbox | select | json
    label: str
    value: str = ""
    checked: bool = False
    required: bool = False
    description: str = ""
    minimum: str = ""
    maximum: str = ""
    step: str = ""
    min_length: int | None = None
    max_length: int | None = None
    options: list[tuple[str, str]] = field(default_factory=list)  # (JSON value, label)
    error: str = ""
    original: str = ""  # the value as the bot asked ("true"/"false" for a checkbox)

    @property
    def rows(self) -> int:
        """A text area's height: its lines, within reason."""
        return min(14, max(3, self.value.count("\n") + 1))


WHOLE = "arguments"  # the single JSON text area of an approval without a schema


def _number_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return json.dumps(value)


def _kind(prop: dict, value: Any, present: bool) -> str:
    enum = prop.get("enum", [prop["const"]] if "const" in prop else None)
    if isinstance(enum, list) and enum and all(
        v is None or isinstance(v, str | int | float | bool) for v in enum
    ):
        return "select"
    kind = prop.get("type")
    if present and value is not None:
        # A value of another type than the schema says (a union type, say) stays JSON.
        actual = {str: "string", bool: "boolean", int: "integer", float: "number"}.get(
            type(value)
        )
        if actual is None or (actual != kind and {actual, kind} != {"integer", "number"}):
            return "json"
    match kind:
        case "string":
            long = prop.get("maxLength", 0) > 200 or (isinstance(value, str) and (
                "\n" in value or len(value) > 200
            ))
            return "textarea" if long else "text"
        case "number" | "integer":
            return "number"
        case "boolean":
            return "checkbox"
    return "json"


def form_fields(arguments: dict, schema: dict | None) -> list[FormField]:
    """The form for `arguments`: one field per top-level property of the schema, then
    per argument the schema does not list; without a schema, one JSON text area."""
    if schema is None or not isinstance(schema.get("properties"), dict):
        text = json.dumps(arguments, indent=2, ensure_ascii=False)
        return [
            FormField(
                name=WHOLE, key="", kind="json", label=_("Arguments (JSON)"),
                value=text, original=text, required=True,
            )
        ]
    properties: dict = schema["properties"]
    required = set(schema.get("required", []))
    keys = list(properties) + [k for k in arguments if k not in properties]
    fields = []
    for index, key in enumerate(keys):
        prop = properties.get(key)
        prop = prop if isinstance(prop, dict) else {}
        present = key in arguments
        value = arguments.get(key)
        kind = _kind(prop, value, present)
        one = FormField(
            name=f"arg-{index}",
            key=key,
            kind=kind,
            label=str(prop.get("title") or key),
            required=key in required,
            description=str(prop.get("description", "")),
        )
        match kind:
            case "text" | "textarea":
                one.value = value if isinstance(value, str) else ""
                one.min_length = prop.get("minLength")
                one.max_length = prop.get("maxLength")
            case "number":
                one.value = _number_text(value) if present else ""
                one.step = "1" if prop.get("type") == "integer" else "any"
                one.minimum = _number_text(prop.get("minimum", prop.get("exclusiveMinimum")))
                one.maximum = _number_text(prop.get("maximum", prop.get("exclusiveMaximum")))
            case "checkbox":
                one.checked = value is True
            case "select":
                enum = prop.get("enum", [prop.get("const")])
                one.options = [(json.dumps(v), "—" if v is None else str(v)) for v in enum]
                one.value = json.dumps(value) if present else ""
            case _:
                one.value = (
                    json.dumps(value, indent=2, ensure_ascii=False) if present else ""
                )
        one.original = ("true" if one.checked else "false") if kind == "checkbox" else one.value
        fields.append(one)
    return fields


def arguments_from_form(
    original: dict, schema: dict | None, data
) -> tuple[dict, list[FormField]]:
    """The arguments an agent's form post describes, and the form again with each
    field's problem (empty errors: the arguments are valid against the schema)."""
    fields = form_fields(original, schema)
    result: dict[str, Any] = {}
    for one in fields:
        raw = data.get(one.name)
        if one.kind == "checkbox":
            one.checked = raw is not None
            if one.checked or one.key in original or one.required:
                result[one.key] = one.checked
            continue
        raw = "" if raw is None else str(raw).replace("\r\n", "\n")
        one.value = raw
        if one.kind in ("text", "textarea"):
            if raw or one.key in original or one.required:
                result[one.key] = raw
            continue
        if raw.strip() == "":
            if one.name == WHOLE:
                one.error = _("Write the arguments as a JSON object.")
            continue  # left out: the schema says whether it may be
        try:
            if one.kind == "number":
                parsed: Any = float(raw) if any(c in raw for c in ".eE") else int(raw)
                if isinstance(parsed, float) and not math.isfinite(parsed):
                    raise ValueError
            else:
                parsed = json.loads(raw)
        except ValueError as error:
            one.error = (
                _("Enter a number.")
                if one.kind == "number"
                else _("This is not valid JSON: %(error)s") % {"error": error}
            )
            continue
        if one.kind == "select" and raw not in {value for value, _ in one.options}:
            one.error = _("Choose one of the options.")
            continue
        if one.name == WHOLE:
            if not isinstance(parsed, dict):
                one.error = _("The arguments must be a JSON object.")
                continue
            result = parsed
        else:
            result[one.key] = parsed
    if any(one.error for one in fields):
        return result, fields
    problems = unstorable_problems(result, "arguments")
    if json_size(result) > MAX_JSON_BYTES:
        problems = {"arguments": "must be at most 64 KiB as JSON"}
    elif not problems and schema is not None:
        problems = argument_problems(result, schema)
    by_key = {one.key: one for one in fields if one.name != WHOLE}
    for path, message in problems.items():
        parts = path.split(".")[1:]  # "arguments.amount" → ["amount"]
        target = by_key.get(parts[0]) if parts else None
        if target is not None:
            where = ".".join(parts[1:])
        else:
            target, where = fields[0], ".".join(parts)
        target.error = target.error or (f"{where}: {message}" if where else message)
    return result, fields


def differences(original: dict, final: dict) -> list[dict]:
    """Each top-level argument with its original and final value (JSON text), changed
    ones marked: what the approval page shows when an agent edited the arguments."""
    rows = []
    for key in list(original) + [k for k in final if k not in original]:
        before = json.dumps(original[key], ensure_ascii=False) if key in original else ""
        after = json.dumps(final[key], ensure_ascii=False) if key in final else ""
        rows.append({"key": key, "before": before, "after": after, "changed": before != after})
    return rows
