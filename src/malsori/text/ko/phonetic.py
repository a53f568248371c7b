"""Korean pronunciation from Hangul to IPA and phone lists, and the descriptive variants.

Input is what ``malsori.text.ko.g2p`` returns: the standard pronunciation spelled in Hangul
(국물이 -> 궁무리). The IPA adds what the Hangul spelling leaves to the reader:
- lax stops and affricates (ㄱ ㄷ ㅂ ㅈ) are voiced between voiced sounds inside a word
  (바보 [pabo]) and voiceless elsewhere; codas are unreleased (국 [kuk̚]);
- ㄹ is a flap [ɾ] before a vowel and lateral [l] in the coda and after a lateral (달라 [talla]);
- ㅎ is voiced [ɦ] between voiced sounds inside a word;
- ㅅ ㅆ are alveolo-palatal before [i] and [j] (시 [ɕi]), and a [j] after an alveolo-palatal
  is absorbed by it (샤 [ɕa], 져 [tɕʌ]); ㅢ after a consonant is [i] (희 [hi]);
- tense consonants carry the IPA diacritic ͈ (까 [k͈a]), aspirated ones ʰ.
Words are the spaces of the input; voicing does not reach across them (an accentual phrase
can span several words, which a text front-end cannot know).

``descriptive`` gives the pronunciations the standard allows beside the strict one and that most
speakers use (표준 발음법 제5항): ㅖ as ㅔ after consonants other than ㄹ (계시다 -> 게시다), ㅢ as ㅣ
outside the first syllable of a word (주의 -> 주이), the possessive particle 의 as 에.
"""

from __future__ import annotations

from malsori.text.ko.hangul import is_syllable, join, split

LAX = {"ㄱ": ("k", "ɡ"), "ㄷ": ("t", "d"), "ㅂ": ("p", "b"), "ㅈ": ("tɕ", "dʑ")}
ONSETS = {"ㄲ": "k͈", "ㅋ": "kʰ", "ㄸ": "t͈", "ㅌ": "tʰ", "ㅃ": "p͈", "ㅍ": "pʰ", "ㅉ": "t͈ɕ", "ㅊ": "tɕʰ",
          "ㅅ": "s", "ㅆ": "s͈", "ㅎ": "h", "ㅁ": "m", "ㄴ": "n", "ㄹ": "ɾ", "ㅇ": ""}
# After G2P only the seven representative codas remain; any other is neutralised here too.
CODAS = {"": [], "ㄱ": ["k̚"], "ㄴ": ["n"], "ㄷ": ["t̚"], "ㄹ": ["l"], "ㅁ": ["m"], "ㅂ": ["p̚"], "ㅇ": ["ŋ"]}
CODA_NEUTRAL = {"ㄲ": "ㄱ", "ㅋ": "ㄱ", "ㄳ": "ㄱ", "ㄺ": "ㄱ", "ㅅ": "ㄷ", "ㅆ": "ㄷ", "ㅈ": "ㄷ", "ㅊ": "ㄷ",
                "ㅌ": "ㄷ", "ㅎ": "ㄷ", "ㅍ": "ㅂ", "ㄿ": "ㅂ", "ㅄ": "ㅂ", "ㄵ": "ㄴ", "ㄶ": "ㄴ", "ㄻ": "ㅁ",
                "ㄼ": "ㄹ", "ㄽ": "ㄹ", "ㄾ": "ㄹ", "ㅀ": "ㄹ"}
VOWELS = {"ㅏ": ["a"], "ㅐ": ["ɛ"], "ㅑ": ["j", "a"], "ㅒ": ["j", "ɛ"], "ㅓ": ["ʌ"], "ㅔ": ["e"], "ㅕ": ["j", "ʌ"],
          "ㅖ": ["j", "e"], "ㅗ": ["o"], "ㅘ": ["w", "a"], "ㅙ": ["w", "ɛ"], "ㅚ": ["w", "e"], "ㅛ": ["j", "o"],
          "ㅜ": ["u"], "ㅝ": ["w", "ʌ"], "ㅞ": ["w", "e"], "ㅟ": ["w", "i"], "ㅠ": ["j", "u"], "ㅡ": ["ɯ"],
          "ㅢ": ["ɰ", "i"], "ㅣ": ["i"]}
PALATAL_VOWELS = set("ㅣㅑㅒㅕㅖㅛㅠ")
VOICED_CODAS = set("ㄴㄹㅁㅇ")
PALATAL_ONSETS = set("ㅅㅆㅈㅉㅊ")


Syllable = tuple[list[str], list[str], list[str]]  # onset, vowel (with its glide), coda phones


def syllables(word: str) -> list[Syllable]:
    """The phones of each syllable of one word of a pronunciation spelled in Hangul; characters
    that are not Hangul syllables are skipped."""
    jamo = [split(ch) for ch in word if is_syllable(ch)]
    out: list[Syllable] = []
    for k, (onset, vowel, coda) in enumerate(jamo):
        previous = CODA_NEUTRAL.get(jamo[k - 1][2], jamo[k - 1][2]) if k else None
        after_voiced = previous is not None and (not previous or previous in VOICED_CODAS)
        out.append((_onset(onset, vowel, after_voiced, previous == "ㄹ"), _vowel(onset, vowel),
                    CODAS.get(CODA_NEUTRAL.get(coda, coda), [])))
    return out


def phones(pronunciation: str) -> list[list[str]]:
    """The phones of each word of a pronunciation spelled in Hangul; characters that are not
    Hangul syllables (punctuation, Latin) are dropped."""
    words = ([p for syllable in syllables(w) for part in syllable for p in part] for w in pronunciation.split())
    return [w for w in words if w]


def to_ipa(pronunciation: str) -> str:
    """IPA transcription, words separated by spaces."""
    return " ".join("".join(word) for word in phones(pronunciation))


def to_phone_string(pronunciation: str) -> str:
    """Phones separated by spaces and words by `` | `` (the form aligners and TTS tokenisers read)."""
    return " | ".join(" ".join(word) for word in phones(pronunciation))


def _vowel(onset: str, vowel: str) -> list[str]:
    if vowel == "ㅢ" and onset != "ㅇ":
        return ["i"]  # 희 is said 히 (제5항)
    if onset in PALATAL_ONSETS and VOWELS[vowel][0] == "j":
        return VOWELS[vowel][1:]  # 샤 [ɕa], 져 [tɕʌ]: the glide is in the consonant already
    return VOWELS[vowel]


def _onset(onset: str, vowel: str, after_voiced: bool, after_lateral: bool) -> list[str]:
    if onset in LAX:
        return [LAX[onset][after_voiced]]
    if onset == "ㄹ":
        return ["l"] if after_lateral else ["ɾ"]
    if onset == "ㅎ" and after_voiced:
        return ["ɦ"]
    if onset in ("ㅅ", "ㅆ") and vowel in PALATAL_VOWELS:
        return ["ɕ" if onset == "ㅅ" else "ɕ͈"]
    return [ONSETS[onset]] if ONSETS[onset] else []


def descriptive(pronunciation: str, possessives: frozenset[int] = frozenset()) -> str:
    """The everyday variants of a standard pronunciation (see the module docstring).
    ``possessives`` are the indices of syllables 의 that are the possessive particle (from
    morphology), said 에."""
    out = []
    for i, ch in enumerate(pronunciation):
        if not is_syllable(ch):
            out.append(ch)
            continue
        onset, vowel, coda = split(ch)
        first_in_word = i == 0 or not is_syllable(pronunciation[i - 1])
        if i in possessives and ch == "의":
            vowel = "ㅔ"
        elif vowel == "ㅖ" and onset not in ("ㅇ", "ㄹ"):
            vowel = "ㅔ"
        elif vowel == "ㅢ" and not first_in_word:
            vowel = "ㅣ"
        out.append(join(onset, vowel, coda))
    return "".join(out)
