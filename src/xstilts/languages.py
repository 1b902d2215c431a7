"""Language codes: XTREME uses ISO 639-1 two-letter codes; Tatoeba files use ISO 639-3."""

from __future__ import annotations

# Tatoeba (LASER) file code -> XTREME code. The 36 XTREME languages plus the 5 XTREME-R ones.
TATOEBA_TO_XTREME: dict[str, str] = {
    "afr": "af", "ara": "ar", "bul": "bg", "ben": "bn", "deu": "de", "ell": "el", "spa": "es",
    "est": "et", "eus": "eu", "pes": "fa", "fin": "fi", "fra": "fr", "heb": "he", "hin": "hi",
    "hun": "hu", "ind": "id", "ita": "it", "jpn": "ja", "jav": "jv", "kat": "ka", "kaz": "kk",
    "kor": "ko", "mal": "ml", "mar": "mr", "nld": "nl", "por": "pt", "rus": "ru", "swh": "sw",
    "tam": "ta", "tel": "te", "tha": "th", "tgl": "tl", "tur": "tr", "urd": "ur", "vie": "vi",
    "cmn": "zh",
    # XTREME-R additions
    "aze": "az", "lit": "lt", "pol": "pl", "ukr": "uk", "ron": "ro",
}
XTREME_TO_TATOEBA: dict[str, str] = {v: k for k, v in TATOEBA_TO_XTREME.items()}

# TyDiQA's official file names use language names.
TYDIQA_NAMES: dict[str, str] = {
    "ar": "arabic", "bn": "bengali", "en": "english", "fi": "finnish", "id": "indonesian",
    "ko": "korean", "ru": "russian", "sw": "swahili", "te": "telugu",
}

# Every code the project knows (XTREME + XTREME-R + XCOPA); used to reject typos early.
KNOWN_LANGUAGES: frozenset[str] = frozenset(
    set(TATOEBA_TO_XTREME.values())
    | {"en", "ms", "my", "yo", "zh", "ht", "qu", "gu", "pa", "ro", "lt", "pl", "uk", "az", "wo"}
)


def to_xtreme_code(code: str) -> str:
    """Map a Tatoeba/ISO-639-3 code to XTREME's two-letter code; two-letter codes pass through."""
    code = code.lower()
    if code == "eng":
        return "en"
    return TATOEBA_TO_XTREME.get(code, code)

# The language of a selection that mixes languages (a multilingual masked-LM corpus).
MULTILINGUAL = "multi"

# English names, for tables and reports.
LANGUAGE_NAMES: dict[str, str] = {
    "af": "Afrikaans", "ar": "Arabic", "az": "Azerbaijani", "bg": "Bulgarian", "bn": "Bengali", "de": "German",
    "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian",
    "fi": "Finnish", "fr": "French", "gu": "Gujarati", "he": "Hebrew", "hi": "Hindi", "ht": "Haitian Creole",
    "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese", "jv": "Javanese", "ka": "Georgian",
    "kk": "Kazakh", "ko": "Korean", "lt": "Lithuanian", "ml": "Malayalam", "mr": "Marathi", "ms": "Malay",
    "my": "Burmese", "nl": "Dutch", "pa": "Punjabi", "pl": "Polish", "pt": "Portuguese", "qu": "Quechua",
    "ro": "Romanian", "ru": "Russian", "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "th": "Thai",
    "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "wo": "Wolof", "yo": "Yoruba",
    "zh": "Chinese", MULTILINGUAL: "Multilingual",
}


def language_name(code: str) -> str:
    """The English name of a language code (the code itself when unknown)."""
    return LANGUAGE_NAMES.get(code, code)
