"""What the installed models can do, per language: the honest task x language matrix."""

from __future__ import annotations

from malsori.languages import LANGUAGES, WHISPER_LANGUAGES
from malsori.models.catalog import CATALOG, is_available


def support_matrix() -> list[dict]:
    from malsori.engines.mt.apertium import installed_pairs
    from malsori.engines.tts.espeak import espeak_voice

    asr_models = [m for m in ("whisper-tiny.en", "whisper-base", "vosk-ko", "whisper-local", "seamless-m4t-v2")
                  if is_available(m)]
    multilingual = [m for m in asr_models if CATALOG[m].languages is None]
    pairs = installed_pairs()
    nllb = is_available("nllb-200")
    piper = is_available("piper-en-joe")
    rows = []
    for code, lang in sorted(LANGUAGES.items(), key=lambda kv: kv[1].name):
        # Models of "any language" know Whisper's languages, not the ones only eSpeak NG speaks.
        asr = [m for m in asr_models if code in (CATALOG[m].languages or WHISPER_LANGUAGES)]
        targets = sorted({t for s, t in pairs if s == code})
        t2tt = ", ".join(f"->{t}" for t in targets)
        if nllb:
            t2tt = "nllb-200 (200 languages)" + (f"; apertium {t2tt}" if t2tt else "")
        elif t2tt:
            t2tt = f"apertium {t2tt}"
        voices = (["piper"] if piper and code == "eng" else []) + (["espeak-ng"] if espeak_voice(code) else [])
        rows.append({
            "code": code, "name": lang.name,
            "asr": ", ".join(asr) or "-",
            "s2tt_eng": ", ".join(multilingual) if multilingual and code != "eng" and code in WHISPER_LANGUAGES else "-",
            "t2tt": t2tt or "-",
            "tts": ", ".join(voices) or "-",
        })
    return rows
