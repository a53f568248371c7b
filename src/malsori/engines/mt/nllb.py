"""NLLB-200 text translation through CTranslate2, tokenised with NLLB's own sentencepiece model.

The model directory is what ``ct2-transformers-converter --model facebook/nllb-200-distilled-600M
--copy_files sentencepiece.bpe.model`` writes: model.bin, config.json, the shared vocabulary and
sentencepiece.bpe.model. NLLB names languages with FLORES-200 codes such as ``kor_Hang``.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Sequence

from malsori.errors import LanguageError, ModelError
from malsori.languages import LANGUAGES, normalize_language
from malsori.models import resolve

SPM_FILE = "sentencepiece.bpe.model"
INSTALL_HINT = "pip install 'malsori[nllb]'"

# The 202 FLORES-200 codes NLLB-200 was trained on (its "200 languages", two of them in two scripts).
NLLB_CODES = frozenset("""
    ace_Arab ace_Latn acm_Arab acq_Arab aeb_Arab afr_Latn ajp_Arab aka_Latn amh_Ethi apc_Arab arb_Arab
    ars_Arab ary_Arab arz_Arab asm_Beng ast_Latn awa_Deva ayr_Latn azb_Arab azj_Latn bak_Cyrl bam_Latn
    ban_Latn bel_Cyrl bem_Latn ben_Beng bho_Deva bjn_Arab bjn_Latn bod_Tibt bos_Latn bug_Latn bul_Cyrl
    cat_Latn ceb_Latn ces_Latn cjk_Latn ckb_Arab crh_Latn cym_Latn dan_Latn deu_Latn dik_Latn dyu_Latn
    dzo_Tibt ell_Grek eng_Latn epo_Latn est_Latn eus_Latn ewe_Latn fao_Latn pes_Arab fij_Latn fin_Latn
    fon_Latn fra_Latn fur_Latn fuv_Latn gla_Latn gle_Latn glg_Latn grn_Latn guj_Gujr hat_Latn hau_Latn
    heb_Hebr hin_Deva hne_Deva hrv_Latn hun_Latn hye_Armn ibo_Latn ilo_Latn ind_Latn isl_Latn ita_Latn
    jav_Latn jpn_Jpan kab_Latn kac_Latn kam_Latn kan_Knda kas_Arab kas_Deva kat_Geor knc_Arab knc_Latn
    kaz_Cyrl kbp_Latn kea_Latn khm_Khmr kik_Latn kin_Latn kir_Cyrl kmb_Latn kon_Latn kor_Hang kmr_Latn
    lao_Laoo lvs_Latn lij_Latn lim_Latn lin_Latn lit_Latn lmo_Latn ltg_Latn ltz_Latn lua_Latn lug_Latn
    luo_Latn lus_Latn mag_Deva mai_Deva mal_Mlym mar_Deva min_Latn mkd_Cyrl plt_Latn mlt_Latn mni_Beng
    khk_Cyrl mos_Latn mri_Latn zsm_Latn mya_Mymr nld_Latn nno_Latn nob_Latn npi_Deva nso_Latn nus_Latn
    nya_Latn oci_Latn gaz_Latn ory_Orya pag_Latn pan_Guru pap_Latn pol_Latn por_Latn prs_Arab pbt_Arab
    quy_Latn ron_Latn run_Latn rus_Cyrl sag_Latn san_Deva sat_Beng scn_Latn shn_Mymr sin_Sinh slk_Latn
    slv_Latn smo_Latn sna_Latn snd_Arab som_Latn sot_Latn spa_Latn als_Latn srd_Latn srp_Cyrl ssw_Latn
    sun_Latn swe_Latn swh_Latn szl_Latn tam_Taml tat_Cyrl tel_Telu tgk_Cyrl tgl_Latn tha_Thai tir_Ethi
    taq_Latn taq_Tfng tpi_Latn tsn_Latn tso_Latn tuk_Latn tum_Latn tur_Latn twi_Latn tzm_Tfng uig_Arab
    ukr_Cyrl umb_Latn urd_Arab uzn_Latn vec_Latn vie_Latn war_Latn wol_Latn xho_Latn ydd_Hebr yor_Latn
    yue_Hant zho_Hans zho_Hant zul_Latn
""".split())

# Where NLLB's code is not malsori's code plus script: NLLB files Mandarin under the macrolanguage
# zho and Yiddish under ydd (Eastern Yiddish).
_FLORES_OVERRIDES = {"cmn": "zho_Hans", "yid": "ydd_Hebr"}


def flores_code(code: str) -> str:
    """NLLB's FLORES-200 code for ``code``: a FLORES code as is (``zho_Hant``), malsori's spellings
    (``ko``, ``kor``), or an ISO 639-3 code NLLB writes in one script only (``fuv``)."""
    raw = code.strip() if isinstance(code, str) else code
    if raw in NLLB_CODES:
        return raw
    try:
        canonical = normalize_language(code)
    except LanguageError:
        # Languages malsori does not list but NLLB does, when the ISO 639-3 code is unambiguous.
        scripts = [c for c in NLLB_CODES if c.split("_")[0] == str(raw).lower()]
        if len(scripts) == 1:
            return scripts[0]
        raise
    flores = _FLORES_OVERRIDES.get(canonical, LANGUAGES[canonical].flores)
    if flores not in NLLB_CODES:
        raise LanguageError(f"NLLB-200 does not cover {LANGUAGES[canonical].name} ({canonical})")
    return flores


def _vocabulary(path: Path) -> set[str] | None:
    """The converted model's target vocabulary, or None when this layout is not one we know."""
    for name in ("shared_vocabulary.json", "target_vocabulary.json"):
        if (path / name).is_file():
            return set(json.loads((path / name).read_text(encoding="utf-8")))
    for name in ("shared_vocabulary.txt", "target_vocabulary.txt"):
        if (path / name).is_file():
            return set((path / name).read_text(encoding="utf-8").splitlines())
    return None


class NllbTranslator:
    """TextTranslator protocol over a CTranslate2 NLLB-200 model (any size). Loads on first use."""

    def __init__(self, model_id: str = "nllb-200", model_dir: str | os.PathLike | None = None,
                 beam_size: int = 4, compute_type: str = "int8", cpu_threads: int = 0,
                 max_decoding_length: int = 256, max_batch_size: int = 16):
        self.model_id = model_id
        self.name = model_id
        self._model_dir = model_dir
        self.beam_size = beam_size
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads or (os.cpu_count() or 2)
        self.max_decoding_length = max_decoding_length
        self.max_batch_size = max_batch_size
        self._translator = None
        self._spm = None
        self._model_codes: frozenset[str] | None = None
        self._path: Path | None = None
        self._lock = threading.Lock()

    def supports(self, src: str, tgt: str) -> bool:
        try:
            flores_code(src)
            flores_code(tgt)
        except LanguageError:
            return False
        return True

    def _loaded(self):
        with self._lock:
            if self._translator is None:
                self._load()
            return self._translator, self._spm

    def _load(self) -> None:
        path = resolve(self.model_id, self._model_dir)
        if not (path / SPM_FILE).is_file():
            raise ModelError(f"{self.model_id}: {path} has no {SPM_FILE}; convert with "
                             f"ct2-transformers-converter ... --copy_files {SPM_FILE}")
        try:
            import ctranslate2
            import sentencepiece
        except ImportError:
            raise ModelError(f"{self.model_id} needs ctranslate2 and sentencepiece: {INSTALL_HINT}") from None
        try:
            spm = sentencepiece.SentencePieceProcessor(model_file=str(path / SPM_FILE))
            translator = ctranslate2.Translator(str(path), device="cpu", compute_type=self.compute_type,
                                                intra_threads=self.cpu_threads)
        except Exception as exc:  # CTranslate2 and sentencepiece report bad files with long messages
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelError(f"{self.model_id}: cannot load NLLB model from {path}: {first}") from None
        vocabulary = _vocabulary(path)
        self._model_codes = frozenset(vocabulary & NLLB_CODES) if vocabulary is not None else None
        self._translator, self._spm, self._path = translator, spm, path

    def _check_in_model(self, flores: str) -> None:
        # A code missing from the vocabulary would silently become <unk> and steer nothing.
        if self._model_codes is not None and flores not in self._model_codes:
            raise LanguageError(f"{self.model_id}: the model in {self._path} has no {flores} language token")

    def _decode(self, spm, tokens: list[str]) -> str:
        # Keep only real sentencepiece pieces: language codes, <unk> and padding words the decoder
        # may emit are not text.
        unk = spm.unk_id()
        pieces = [t for t in tokens if (i := spm.piece_to_id(t)) != unk and not spm.is_control(i)]
        return spm.decode_pieces(pieces).strip()

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        src_code, tgt_code = flores_code(src), flores_code(tgt)
        results = ["" for _ in texts]
        todo = [i for i, text in enumerate(texts) if text.strip()]
        if not todo:
            return results
        translator, spm = self._loaded()
        self._check_in_model(src_code)
        self._check_in_model(tgt_code)
        # NLLB's training layout: the source language code first and </s> last on the source side;
        # the target starts with the target code, forced here as a prefix.
        sources = [[src_code, *spm.encode(" ".join(texts[i].split()), out_type=str), "</s>"] for i in todo]
        outputs = translator.translate_batch(
            sources, target_prefix=[[tgt_code]] * len(sources), beam_size=self.beam_size,
            max_decoding_length=self.max_decoding_length, max_batch_size=self.max_batch_size,
        )
        for i, output in zip(todo, outputs):
            tokens = output.hypotheses[0]
            if tokens[:1] == [tgt_code]:
                tokens = tokens[1:]
            results[i] = self._decode(spm, tokens)
        return results
