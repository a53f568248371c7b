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
speakers use: ㅚ as ㅞ (제4항 붙임: 회의 -> 훼의), ㅖ as ㅔ after consonants other than ㄹ
(제5항: 계시다 -> 게시다), ㅢ as ㅣ outside the first syllable of a word (주의 -> 주이), the
possessive particle 의 as 에, and 사이시옷 not said before the consonant it tenses (제30항:
햇빛 [핻삗] -> [해삗]).

``variant_key`` maps every pronunciation the standard allows for a spelling to one form, so a
scorer counts [게훽] and [계획] for 계획 as the same answer (also 제22항: 되어 [되어/되여]).
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
    # A long vowel (ː after its syllable, from ``--long-vowels``) keeps its mark in the IPA.
    long = [word[i + 1:i + 2] == "ː" for i, ch in enumerate(word) if is_syllable(ch)]
    out: list[Syllable] = []
    for k, (onset, vowel, coda) in enumerate(jamo):
        previous = CODA_NEUTRAL.get(jamo[k - 1][2], jamo[k - 1][2]) if k else None
        after_voiced = previous is not None and (not previous or previous in VOICED_CODAS)
        nucleus = _vowel(onset, vowel)
        if long[k]:
            nucleus = nucleus[:-1] + [nucleus[-1] + "ː"]
        out.append((_onset(onset, vowel, after_voiced, previous == "ㄹ"), nucleus,
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


def descriptive(pronunciation: str, possessives: frozenset[int] = frozenset(),
                sai_siot: frozenset[int] = frozenset()) -> str:
    """The everyday variants of a standard pronunciation (see the module docstring).
    ``possessives`` are the indices of syllables 의 that are the possessive particle (from
    morphology), said 에; ``sai_siot`` those whose spelling ends in ㅅ: their coda [ㄷ] goes
    before a tense consonant."""
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
        elif vowel == "ㅚ":
            vowel = "ㅞ"
        if i in sai_siot and coda == "ㄷ" and _tense_onset_at(pronunciation, i + 1):
            coda = ""
        out.append(join(onset, vowel, coda))
    return "".join(out)


TENSE_ONSETS = set("ㄲㄸㅃㅆㅉ")
# 제22항: after these vowels, 어 and 오 may be said 여 and 요 (되어 [되여], 피어 [피여]).
GLIDING_VOWELS = set("ㅣㅐㅔㅚㅟ")


def _tense_onset_at(text: str, i: int) -> bool:
    return i < len(text) and is_syllable(text[i]) and split(text[i])[0] in TENSE_ONSETS


def variant_key(spelling: str, pronunciation: str) -> str:
    """One form for all the pronunciations of ``spelling`` the standard allows: ㅞ for ㅚ, ㅔ for
    ㅖ, ㅣ or ㅔ for a non-initial ㅢ, 여/요 for 어/오 after ㅣ ㅐ ㅔ ㅚ ㅟ, and 사이시옷 said [ㄷ] or not
    are mapped back to the strict form. Spaces are ignored; a pronunciation with another number
    of syllables than the spelling is returned as it is."""
    written = [ch for ch in spelling if not ch.isspace()]
    said = [ch for ch in pronunciation if not ch.isspace()]
    if len(written) != len(said) or not all(map(is_syllable, said)):
        return "".join(said)
    out = []
    for i, (w, p) in enumerate(zip(written, said)):
        if not is_syllable(w):
            out.append(p)
            continue
        wo, wv, wc = split(w)
        po, pv, pc = split(p)
        initial = i == 0 or not is_syllable(written[i - 1])
        if wv == "ㅚ" and pv == "ㅞ":
            pv = "ㅚ"
        elif wv == "ㅖ" and pv == "ㅔ" and wo not in ("ㅇ", "ㄹ"):
            pv = "ㅖ"
        elif wv == "ㅢ" and pv in ("ㅢ", "ㅔ") and not initial:
            pv = "ㅣ"
        elif wo == "ㅇ" and po == "ㅇ" and (wv, pv) in (("ㅓ", "ㅕ"), ("ㅗ", "ㅛ")) and not initial \
                and split(written[i - 1])[1] in GLIDING_VOWELS and not split(written[i - 1])[2]:
            pv = wv
        if wc == "ㅅ" and pc == "ㄷ" and _tense_onset_at("".join(said), i + 1):
            pc = ""
        out.append(join(po, pv, pc))
    return "".join(out)


def same_pronunciation(spelling: str, a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are the same pronunciation of ``spelling`` up to the allowed variants."""
    return variant_key(spelling, a) == variant_key(spelling, b)
