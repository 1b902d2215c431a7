"""Language codes: any ISO 639 / BCP 47 code a task, a declaration or a study names.

Names and code conversions come from ``langcodes`` (with ``language-data``: CLDR's names), so a
task in a language no list here anticipated (AmericasNLI's ``aym``, ``gn``, ``quy``) just works,
and a typo (``xx``, ``dee``) is still caught: a code must be a well-formed tag whose language
CLDR knows. A task's file-name codes (Tatoeba's ISO 639-3, TyDiQA's language names) live in its
own file (``TaskSpec.file_codes``).
"""

from __future__ import annotations

import functools

import langcodes

from xstilts.errors import UnknownLanguageError

# The language of a selection that mixes languages (a multilingual masked-LM corpus).
MULTILINGUAL = "multi"

# Where the names XTREME and its data use differ from CLDR's current English names.
_NAME_OVERRIDES = {"bn": "Bengali", "tl": "Tagalog", MULTILINGUAL: "Multilingual"}


@functools.lru_cache(maxsize=None)
def is_language(code: str) -> bool:
    """A well-formed ISO 639 / BCP 47 tag naming a language CLDR knows (not ``xx``, not ``qqq``)."""
    if not code or not langcodes.tag_is_valid(code):
        return False
    language = langcodes.Language.get(code)
    return language.language is not None and not language.language_name().startswith("Unknown language")


def check_code(code: str) -> str:
    """``code`` normalised (stripped, lower case) when it names a language, else a one-line error."""
    normalized = code.strip().lower()
    if not is_language(normalized):
        raise UnknownLanguageError(f"unknown language code {code!r}: not an ISO 639 / BCP 47 language code "
                                   "(e.g. de, zh, aym)")
    return normalized


@functools.lru_cache(maxsize=None)
def language_name(code: str) -> str:
    """The English name of a language code (the code itself when it names no language)."""
    if code in _NAME_OVERRIDES:
        return _NAME_OVERRIDES[code]
    return langcodes.Language.get(code).display_name() if is_language(code) else code


@functools.lru_cache(maxsize=None)
def alpha3(code: str) -> str:
    """The ISO 639-3 (or 639-2/T) code of a language code: ``de`` -> ``deu``."""
    return langcodes.Language.get(code).to_alpha3()
