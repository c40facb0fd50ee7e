"""Interface language: Russian by default, English on a switch.

Each page module registers its own messages as `key -> (russian, english)`;
the chosen language travels in the `lang` cookie, so Flask pages and Dash
pages agree on it.
"""

from __future__ import annotations

from flask import has_request_context
from flask import request

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
LANGUAGE_COOKIE = "lang"

_messages: dict[str, tuple[str, str]] = {}


def register_messages(messages: dict[str, tuple[str, str]]) -> None:
    """Add a page's messages; a key registered twice must keep its text."""
    for key, pair in messages.items():
        known = _messages.get(key)
        if known is not None and known != pair:
            raise ValueError(f"message {key!r} is registered with two texts")
        _messages[key] = pair


def normalise_language(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def request_language() -> str:
    """The language of the current request: `?lang=`, then the cookie."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    chosen = request.args.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    return normalise_language(chosen)


def translate(key: str, lang: str | None = None, **values) -> str:
    """The message `key` in `lang` (default: the request's), with `values` filled in.

    An unknown key is returned as it is, so a missing text shows up on the
    page instead of breaking it.
    """
    lang = normalise_language(lang or request_language())
    pair = _messages.get(key)
    if pair is None:
        return key
    text = pair[LANGUAGES.index(lang)]
    return text.format(**values) if values else text
