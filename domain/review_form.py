"""The per-course review form: its text fields, their defaults, and the settings textarea format.

A course stores its form in ``Course.review_form`` as a list of
``{"key", "label", "help", "required"}`` dicts; an empty list means the default form.
The instructor edits it as text, one field a line: ``key | Label | help text | yes/no``.
"""
from __future__ import annotations

import re
from typing import Any

DEFAULT_REVIEW_FORM: tuple[dict[str, Any], ...] = (
    {
        "key": "summary",
        "label": "Summary",
        "help": "What the paper does, in your own words.",
        "required": True,
    },
    {
        "key": "strengths",
        "label": "Strengths",
        "help": "What the paper does well.",
        "required": True,
    },
    {
        "key": "weaknesses",
        "label": "Weaknesses",
        "help": "Flaws, missing baselines, doubtful claims.",
        "required": True,
    },
    {
        "key": "questions",
        "label": "Questions for the authors",
        "help": "One question per line; you can bring them to the panel discussion.",
        "required": False,
    },
)

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 20
MAX_LABEL = 120
MAX_HELP = 300
YES = {"yes", "y", "true", "required"}
NO = {"no", "n", "false", "optional", ""}


def review_form_fields(course) -> list[dict[str, Any]]:
    """The course's review form fields (the default form when none is set), as fresh dicts."""
    return form_fields(course.review_form, DEFAULT_REVIEW_FORM)


def form_fields(stored: list[dict[str, Any]], default: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """A stored form's fields (``default`` when none is set), as fresh dicts; the peer-feedback
    form is stored and edited the same way."""
    fields = stored or default
    return [
        {
            "key": f["key"],
            "label": f["label"],
            "help": f.get("help", ""),
            "required": bool(f.get("required", False)),
        }
        for f in fields
    ]


def format_review_form(fields: list[dict[str, Any]]) -> str:
    """The fields as the settings textarea shows them, one ``key | Label | help | yes/no`` a line."""
    return "\n".join(
        f"{f['key']} | {f['label']} | {f.get('help', '')} | {'yes' if f.get('required') else 'no'}"
        for f in fields
    )


def parse_review_form(text: str, what: str = "review form") -> tuple[list[dict[str, Any]], list[str]]:
    """Parse the settings textarea into fields; returns ``(fields, errors)``.

    Blank lines and lines starting with ``#`` are skipped. The help text may itself contain
    ``|``: the first part is the key, the second the label, the last the required flag.
    """
    fields: list[dict[str, Any]] = []
    errors: list[str] = []
    seen: set[str] = set()
    for number, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        field, error = _parse_line(line, number, seen)
        if error:
            errors.append(error)
        else:
            seen.add(field["key"])
            fields.append(field)
    if not fields and not errors:
        errors.append(f"The {what} needs at least one field.")
    if len(fields) > MAX_FIELDS:
        errors.append(f"The {what} can have at most {MAX_FIELDS} fields.")
    return fields, errors


def _parse_line(line: str, number: int, seen: set[str]) -> tuple[dict[str, Any], str | None]:
    """One textarea line as a field dict, or an error message naming the line."""
    parts = [p.strip() for p in line.split("|")]
    if len(parts) < 4:
        return {}, f"Line {number}: write four parts separated by |: key | Label | help text | yes/no."
    key, label, required = parts[0], parts[1], parts[-1].lower()
    help_text = " | ".join(parts[2:-1]).strip()
    if not KEY_PATTERN.match(key):
        return {}, (
            f"Line {number}: the key “{key}” must start with a lowercase letter and use only "
            "lowercase letters, digits and _ (at most 40 characters)."
        )
    if key in seen:
        return {}, f"Line {number}: the key “{key}” is used twice."
    if not label or len(label) > MAX_LABEL:
        return {}, f"Line {number}: give a label of 1–{MAX_LABEL} characters."
    if len(help_text) > MAX_HELP:
        return {}, f"Line {number}: the help text is longer than {MAX_HELP} characters."
    if required not in YES | NO:
        return {}, f"Line {number}: the last part must be yes or no (is the field required?)."
    return {"key": key, "label": label, "help": help_text, "required": required in YES}, None
