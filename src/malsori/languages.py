"""Language codes: ISO 639-3 (as SeamlessM4T uses them) is canonical; ISO 639-1 is accepted.

Each backend speaks its own dialect of codes (Whisper: 639-1, apertium: 639-3, espeak-ng: voice
names, NLLB: FLORES-200 like ``kor_Hang``); engines convert with the helpers here.
"""

from __future__ import annotations

from dataclasses import dataclass

from malsori.errors import LanguageError


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-3, canonical inside malsori
    iso1: str | None  # ISO 639-1 where one exists (Whisper's codes)
    name: str
    script: str = "Latn"  # ISO 15924, for FLORES-200 codes

    @property
    def flores(self) -> str:
        return f"{self.code}_{self.script}"


# (639-3, 639-1, English name, script). Covers every language Whisper knows plus Seamless's
# speech-output languages (and, below, what eSpeak NG speaks besides); the 639-3 code is the one SeamlessM4T v2 uses where it differs.
_TABLE = [
    ("afr", "af", "Afrikaans", "Latn"), ("amh", "am", "Amharic", "Ethi"),
    ("arb", "ar", "Arabic", "Arab"), ("asm", "as", "Assamese", "Beng"),
    ("azj", "az", "Azerbaijani", "Latn"), ("bak", "ba", "Bashkir", "Cyrl"),
    ("bel", "be", "Belarusian", "Cyrl"), ("bul", "bg", "Bulgarian", "Cyrl"),
    ("ben", "bn", "Bengali", "Beng"), ("bod", "bo", "Tibetan", "Tibt"),
    ("bre", "br", "Breton", "Latn"), ("bos", "bs", "Bosnian", "Latn"),
    ("cat", "ca", "Catalan", "Latn"), ("ces", "cs", "Czech", "Latn"),
    ("cym", "cy", "Welsh", "Latn"), ("dan", "da", "Danish", "Latn"),
    ("deu", "de", "German", "Latn"), ("ell", "el", "Greek", "Grek"),
    ("eng", "en", "English", "Latn"), ("spa", "es", "Spanish", "Latn"),
    ("est", "et", "Estonian", "Latn"), ("eus", "eu", "Basque", "Latn"),
    ("pes", "fa", "Persian", "Arab"), ("fin", "fi", "Finnish", "Latn"),
    ("fao", "fo", "Faroese", "Latn"), ("fra", "fr", "French", "Latn"),
    ("glg", "gl", "Galician", "Latn"), ("guj", "gu", "Gujarati", "Gujr"),
    ("hau", "ha", "Hausa", "Latn"), ("haw", None, "Hawaiian", "Latn"),
    ("heb", "he", "Hebrew", "Hebr"), ("hin", "hi", "Hindi", "Deva"),
    ("hrv", "hr", "Croatian", "Latn"), ("hat", "ht", "Haitian Creole", "Latn"),
    ("hun", "hu", "Hungarian", "Latn"), ("hye", "hy", "Armenian", "Armn"),
    ("ind", "id", "Indonesian", "Latn"), ("isl", "is", "Icelandic", "Latn"),
    ("ita", "it", "Italian", "Latn"), ("jpn", "ja", "Japanese", "Jpan"),
    ("jav", "jw", "Javanese", "Latn"), ("kat", "ka", "Georgian", "Geor"),
    ("kaz", "kk", "Kazakh", "Cyrl"), ("khm", "km", "Khmer", "Khmr"),
    ("kan", "kn", "Kannada", "Knda"), ("kor", "ko", "Korean", "Hang"),
    ("lat", "la", "Latin", "Latn"), ("ltz", "lb", "Luxembourgish", "Latn"),
    ("lin", "ln", "Lingala", "Latn"), ("lao", "lo", "Lao", "Laoo"),
    ("lit", "lt", "Lithuanian", "Latn"), ("lvs", "lv", "Latvian", "Latn"),
    ("plt", "mg", "Malagasy", "Latn"), ("mri", "mi", "Maori", "Latn"),
    ("mkd", "mk", "Macedonian", "Cyrl"), ("mal", "ml", "Malayalam", "Mlym"),
    ("khk", "mn", "Mongolian", "Cyrl"), ("mar", "mr", "Marathi", "Deva"),
    ("zsm", "ms", "Malay", "Latn"), ("mlt", "mt", "Maltese", "Latn"),
    ("mya", "my", "Burmese", "Mymr"), ("npi", "ne", "Nepali", "Deva"),
    ("nld", "nl", "Dutch", "Latn"), ("nno", "nn", "Norwegian Nynorsk", "Latn"),
    ("nob", "no", "Norwegian", "Latn"), ("oci", "oc", "Occitan", "Latn"),
    ("pan", "pa", "Punjabi", "Guru"), ("pol", "pl", "Polish", "Latn"),
    ("pbt", "ps", "Pashto", "Arab"), ("por", "pt", "Portuguese", "Latn"),
    ("ron", "ro", "Romanian", "Latn"), ("rus", "ru", "Russian", "Cyrl"),
    ("san", "sa", "Sanskrit", "Deva"), ("snd", "sd", "Sindhi", "Arab"),
    ("sin", "si", "Sinhala", "Sinh"), ("slk", "sk", "Slovak", "Latn"),
    ("slv", "sl", "Slovenian", "Latn"), ("sna", "sn", "Shona", "Latn"),
    ("som", "so", "Somali", "Latn"), ("als", "sq", "Albanian", "Latn"),
    ("srp", "sr", "Serbian", "Cyrl"), ("sun", "su", "Sundanese", "Latn"),
    ("swe", "sv", "Swedish", "Latn"), ("swh", "sw", "Swahili", "Latn"),
    ("tam", "ta", "Tamil", "Taml"), ("tel", "te", "Telugu", "Telu"),
    ("tgk", "tg", "Tajik", "Cyrl"), ("tha", "th", "Thai", "Thai"),
    ("tuk", "tk", "Turkmen", "Latn"), ("tgl", "tl", "Tagalog", "Latn"),
    ("tur", "tr", "Turkish", "Latn"), ("tat", "tt", "Tatar", "Cyrl"),
    ("ukr", "uk", "Ukrainian", "Cyrl"), ("urd", "ur", "Urdu", "Arab"),
    ("uzn", "uz", "Uzbek", "Latn"), ("vie", "vi", "Vietnamese", "Latn"),
    ("yid", "yi", "Yiddish", "Hebr"), ("yor", "yo", "Yoruba", "Latn"),
    ("cmn", "zh", "Chinese (Mandarin)", "Hans"), ("yue", None, "Cantonese", "Hant"),
]

# Languages eSpeak NG speaks that Whisper does not know: speech output only (639-3 as Seamless
# spells it where it has them, e.g. gaz for Oromo, ory for Odia).
_SPEECH_ONLY = [
    ("arg", "an", "Aragonese", "Latn"), ("chv", "cv", "Chuvash", "Cyrl"), ("epo", "eo", "Esperanto", "Latn"),
    ("gaz", "om", "Oromo", "Latn"), ("gla", "gd", "Scottish Gaelic", "Latn"), ("gle", "ga", "Irish", "Latn"),
    ("grc", None, "Ancient Greek", "Grek"), ("grn", "gn", "Guarani", "Latn"), ("hak", None, "Hakka Chinese", "Hant"),
    ("hyw", None, "Western Armenian", "Armn"), ("ido", "io", "Ido", "Latn"), ("ina", "ia", "Interlingua", "Latn"),
    ("jbo", None, "Lojban", "Latn"), ("kal", "kl", "Greenlandic", "Latn"), ("kir", "ky", "Kyrgyz", "Cyrl"),
    ("kmr", "ku", "Kurdish (Kurmanji)", "Latn"), ("kok", None, "Konkani", "Deva"), ("ltg", None, "Latgalian", "Latn"),
    ("nog", None, "Nogai", "Cyrl"), ("ory", "or", "Odia", "Orya"), ("pap", None, "Papiamento", "Latn"),
    ("quc", None, "K'iche'", "Latn"), ("que", "qu", "Quechua", "Latn"), ("shn", None, "Shan", "Mymr"),
    ("smj", None, "Lule Sami", "Latn"), ("tsn", "tn", "Tswana", "Latn"), ("uig", "ug", "Uyghur", "Arab"),
]

LANGUAGES: dict[str, Language] = {row[0]: Language(*row) for row in _TABLE + _SPEECH_ONLY}
WHISPER_LANGUAGES = frozenset(row[0] for row in _TABLE)

# Other spellings users type: ISO 639-3 macrolanguage and bibliographic codes.
_ALIASES = {
    "ara": "arb", "aze": "azj", "fas": "pes", "per": "pes", "zho": "cmn", "chi": "cmn",
    "msa": "zsm", "may": "zsm", "nor": "nob", "lav": "lvs", "mon": "khk", "nep": "npi",
    "pus": "pbt", "sqi": "als", "alb": "als", "swa": "swh", "uzb": "uzn", "mlg": "plt",
    "ger": "deu", "fre": "fra", "dut": "nld", "cze": "ces", "gre": "ell", "arm": "hye",
    "geo": "kat", "ice": "isl", "mac": "mkd", "rum": "ron", "slo": "slk", "wel": "cym",
    "baq": "eus", "bur": "mya", "tib": "bod", "chinese": "cmn",
}
_BY_ISO1 = {lang.iso1: code for code, lang in LANGUAGES.items() if lang.iso1}
_BY_ISO1.update({"jv": "jav", "nb": "nob", "iw": "heb"})
_BY_NAME = {lang.name.lower(): code for code, lang in LANGUAGES.items()}


def normalize_language(code: str) -> str:
    """Return the canonical ISO 639-3 code for ``code`` (639-3, 639-1, alias or English name).

    Raises LanguageError for anything unknown, naming the input.
    """
    if not isinstance(code, str) or not code.strip():
        raise LanguageError("empty language code")
    key = code.strip().lower().replace("-", "_")
    key = key.split("_")[0]  # FLORES-200 style "kor_Hang"
    if key in LANGUAGES:
        return key
    for table in (_ALIASES, _BY_ISO1, _BY_NAME):
        if key in table:
            return table[key]
    raise LanguageError(
        f"unknown language code {code!r}: use ISO 639-3 (eng, spa, kor) or ISO 639-1 (en, es, ko)"
    )


def language(code: str) -> Language:
    return LANGUAGES[normalize_language(code)]


def whisper_code(code: str) -> str | None:
    """Whisper's code for a language, or None when Whisper does not know it."""
    lang = language(code)
    if lang.code not in WHISPER_LANGUAGES:
        return None
    if lang.code == "haw":
        return "haw"
    if lang.code == "yue":
        return "yue"
    return lang.iso1


def from_whisper(code: str) -> str:
    return normalize_language(code)
