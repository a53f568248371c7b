"""Tiny randomly initialised models, saved in the same layout as the real ones, so that tests load
them through the engines' own code paths. They run in seconds and say nothing about quality."""

from __future__ import annotations

import io
from pathlib import Path

# Seamless: a few text languages, a subset of them spoken. amh is text-only in the real model;
# zlm is Seamless's code for malsori's zsm (Malay).
SEAMLESS_TEXT_LANGS = ("eng", "spa", "kor", "fra", "cmn", "zlm", "amh")
SEAMLESS_SPEECH_LANGS = ("eng", "spa", "kor", "fra", "cmn")
SEAMLESS_SPEAKERS = 2

NLLB_LANGS = ("eng_Latn", "spa_Latn", "kor_Hang")

_SENTENCES = [
    "Hello, how are you today?", "The weather is nice and warm.", "I would like a cup of coffee.",
    "Hola, como estas hoy?", "El tiempo es bueno y calido.", "Quiero una taza de cafe.",
    "안녕하세요, 오늘 어떠세요?", "커피 한 잔 주세요.",
]


def build_tiny_seamless(path: Path) -> Path:
    """A SeamlessM4Tv2Model of about 100k parameters plus its processor, saved to ``path``."""
    import torch
    from transformers import (SeamlessM4TFeatureExtractor, SeamlessM4TProcessor, SeamlessM4TTokenizer,
                              SeamlessM4Tv2Config, SeamlessM4Tv2Model)

    specials = ["<pad>", "<unk>", "<s>", "</s>"]  # the ids SeamlessM4T's config expects: 0..3
    # Single characters and no merges: every ASCII word tokenises, nothing to train.
    chars = list("▁abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'")
    lang_tokens = [f"__{code}__" for code in SEAMLESS_TEXT_LANGS]
    vocab = {token: i for i, token in enumerate(specials + chars + lang_tokens)}
    tokenizer = SeamlessM4TTokenizer(vocab=vocab, merges=[], additional_special_tokens=lang_tokens)
    processor = SeamlessM4TProcessor(feature_extractor=SeamlessM4TFeatureExtractor(), tokenizer=tokenizer)

    units = 32
    config = SeamlessM4Tv2Config(
        vocab_size=len(vocab), char_vocab_size=len(chars) + len(specials), hidden_size=16,
        max_position_embeddings=128, t2u_max_position_embeddings=128,
        encoder_layers=1, encoder_ffn_dim=32, encoder_attention_heads=2,
        decoder_layers=1, decoder_ffn_dim=32, decoder_attention_heads=2,
        speech_encoder_layers=1, speech_encoder_attention_heads=2, speech_encoder_intermediate_size=32,
        conv_depthwise_kernel_size=3, num_adapter_layers=1,
        t2u_encoder_layers=1, t2u_encoder_ffn_dim=32, t2u_encoder_attention_heads=2,
        t2u_decoder_layers=1, t2u_decoder_ffn_dim=32, t2u_decoder_attention_heads=2,
        t2u_variance_predictor_embed_dim=16, t2u_variance_predictor_hidden_dim=16,
        # The vocoder's upsampler halves its channels per stage: fewer than 32 reach zero.
        upsample_initial_channel=32, unit_embed_dim=16, lang_embed_dim=8, spkr_embed_dim=8,
        # With no offset the unit ids index the vocoder directly, so the two vocabularies match.
        t2u_vocab_size=units, unit_hifi_gan_vocab_size=units, vocoder_offset=0,
        vocoder_num_langs=len(SEAMLESS_SPEECH_LANGS), vocoder_num_spkrs=SEAMLESS_SPEAKERS,
    )
    torch.manual_seed(0)
    model = SeamlessM4Tv2Model(config).eval()
    generation = model.generation_config
    generation.text_decoder_lang_to_code_id = {code: vocab[f"__{code}__"] for code in SEAMLESS_TEXT_LANGS}
    generation.t2u_lang_code_to_id = {code: units - 1 - i for i, code in enumerate(SEAMLESS_SPEECH_LANGS)}
    generation.vocoder_lang_code_to_id = {code: i for i, code in enumerate(SEAMLESS_SPEECH_LANGS)}
    generation.id_to_text = {str(i): token for token, i in vocab.items()}
    generation.char_to_id = {ch: i + len(specials) for i, ch in enumerate(chars)}
    # Otherwise from_pretrained rebuilds the generation config from config.json and drops the tables.
    generation._from_model_config = False
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def _train_sentencepiece(vocab_size: int = 80) -> bytes:
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(_SENTENCES), model_writer=model, model_type="bpe", vocab_size=vocab_size,
        character_coverage=1.0, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2,
    )
    return model.getvalue()


def build_tiny_nllb(path: Path, favour_token: str | None = None) -> Path:
    """A tiny M2M100 (NLLB's architecture) converted to CTranslate2 in ``path / "ct2"``, laid out as
    ``ct2-transformers-converter --copy_files sentencepiece.bpe.model`` leaves a real NLLB.

    ``favour_token`` rigs the decoder so that it emits that token at every step: its final layer
    norm outputs a constant vector, and only that token's output embedding points along it.
    """
    import sentencepiece
    import torch
    from ctranslate2.converters import TransformersConverter
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer

    spm_bytes = _train_sentencepiece()
    spm = sentencepiece.SentencePieceProcessor(model_proto=spm_bytes)
    # NLLB's fairseq order: four specials, the sentencepiece pieces, language codes, <mask>.
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for i in range(spm.get_piece_size()):
        vocab.setdefault(spm.id_to_piece(i), len(vocab))
    for token in (*NLLB_LANGS, "<mask>"):
        vocab[token] = len(vocab)
    # The converter only reads the vocabulary from the tokenizer; sentencepiece does the tokenising.
    tokenizer = NllbTokenizer(vocab=vocab, merges=[], additional_special_tokens=list(NLLB_LANGS))

    config = M2M100Config(
        vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=300,
        bos_token_id=0, pad_token_id=1, eos_token_id=2, decoder_start_token_id=2, scale_embedding=True,
    )
    torch.manual_seed(0)
    model = M2M100ForConditionalGeneration(config).eval()
    if favour_token is not None:
        with torch.no_grad():
            direction = torch.randn(config.d_model)
            norm = model.model.decoder.layer_norm
            norm.weight.zero_()
            norm.bias.copy_(direction)
            head = model.get_output_embeddings().weight
            head.mul_(0.01)
            head[vocab[favour_token]] = direction * 10
    hf_dir, ct2_dir = path / "hf", path / "ct2"
    hf_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    (hf_dir / "sentencepiece.bpe.model").write_bytes(spm_bytes)
    TransformersConverter(str(hf_dir), copy_files=["sentencepiece.bpe.model"]).convert(str(ct2_dir), force=True)
    return ct2_dir


def build_tiny_mms(path: Path, language: str = "kor") -> Path:
    """A VitsModel (MMS-TTS's class) of a few thousand parameters and its character tokenizer, in
    the layout of facebook/mms-tts-*; like the Korean model it reads romanised text (uroman)."""
    import json

    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    path.mkdir(parents=True, exist_ok=True)
    letters = list("abcdefghijklmnopqrstuvwxyz '")
    vocab = {"<pad>": 0, **{ch: i + 1 for i, ch in enumerate(letters)}, "<unk>": len(letters) + 1}
    (path / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = VitsTokenizer(str(path / "vocab.json"), language=language, add_blank=True, normalize=True,
                              phonemize=False, is_uroman=True)
    config = VitsConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        ffn_dim=32, flow_size=16, spectrogram_bins=33, upsample_initial_channel=16,
                        upsample_rates=[8, 4], upsample_kernel_sizes=[16, 8], resblock_kernel_sizes=[3],
                        resblock_dilation_sizes=[[1, 3]], prior_encoder_num_flows=1, prior_encoder_num_wavenet_layers=1,
                        posterior_encoder_num_wavenet_layers=1, duration_predictor_num_flows=1,
                        duration_predictor_filter_channels=16, depth_separable_num_layers=1,
                        sampling_rate=16000)
    torch.manual_seed(0)
    VitsModel(config).eval().save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


_SOUND_PROMPTS = ["a man speaks while typing on a keyboard", "a dog barks in the rain", "happy rock music with drums",
                  "birds sing at dawn", "waves crash on the beach"]


def _tiny_t5_tokenizer(path: Path, model_max_length: int = 32):
    """A T5 tokenizer over a 36-piece sentencepiece model trained on a few prompts, saved in ``path``."""
    import sentencepiece
    from transformers import T5Tokenizer

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(_SOUND_PROMPTS), model_writer=model, model_type="bpe", vocab_size=36,
        character_coverage=1.0, unk_id=2, bos_id=-1, eos_id=1, pad_id=0, minloglevel=2,
    )
    path.mkdir(parents=True, exist_ok=True)
    (path / "spiece.model").write_bytes(model.getvalue())
    return T5Tokenizer(vocab_file=str(path / "spiece.model"), extra_ids=0, model_max_length=model_max_length)


def build_tiny_musicgen(path: Path) -> Path:
    """A MusicgenForConditionalGeneration of about 60k parameters (T5 encoder, a one-layer decoder
    over 4 codebooks, a 16 kHz EnCodec with a 320-sample hop: AudioGen's layout) and its processor."""
    import torch
    from transformers import (EncodecConfig, EncodecFeatureExtractor, MusicgenConfig, MusicgenDecoderConfig,
                              MusicgenForConditionalGeneration, MusicgenProcessor, T5Config)

    tokenizer = _tiny_t5_tokenizer(path)
    text = T5Config(vocab_size=36, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2)
    audio = EncodecConfig(sampling_rate=16000, hidden_size=16, num_filters=4, num_residual_layers=1,
                          upsampling_ratios=[8, 8, 5], codebook_size=64, target_bandwidths=[2.2], num_lstm_layers=1,
                          codebook_dim=16)
    decoder = MusicgenDecoderConfig(vocab_size=64, max_position_embeddings=512, num_hidden_layers=1, ffn_dim=32,
                                    num_attention_heads=2, hidden_size=16, num_codebooks=4, pad_token_id=64,
                                    bos_token_id=64)
    config = MusicgenConfig(text_encoder=text.to_dict(), audio_encoder=audio.to_dict(), decoder=decoder.to_dict())
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(config).eval()
    with torch.no_grad():  # EnCodec's codebooks start as zeros (a checkpoint fills them): every token would sound alike
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
    model.generation_config.do_sample = True
    model.generation_config.guidance_scale = 3.0
    model.save_pretrained(path)
    MusicgenProcessor(feature_extractor=EncodecFeatureExtractor(sampling_rate=16000), tokenizer=tokenizer).save_pretrained(path)
    return path


def build_tiny_stable_audio(path: Path) -> Path:
    """A StableAudioPipeline (T5 encoder, projection model, a two-layer DiT, an Oobleck autoencoder
    at 2 kHz stereo with a hop of 2, the cosine DPM-Solver scheduler) saved with save_pretrained."""
    import torch
    from diffusers import AutoencoderOobleck, CosineDPMSolverMultistepScheduler, StableAudioDiTModel, StableAudioPipeline
    from diffusers.pipelines.stable_audio import StableAudioProjectionModel
    from transformers import T5Config, T5EncoderModel

    import tempfile

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = _tiny_t5_tokenizer(Path(tmp))
    pipe = StableAudioPipeline(
        vae=AutoencoderOobleck(encoder_hidden_size=6, downsampling_ratios=[1, 2], decoder_channels=3,
                               decoder_input_channels=3, audio_channels=2, channel_multiples=[2, 4], sampling_rate=2000),
        text_encoder=T5EncoderModel(T5Config(vocab_size=36, d_model=32, d_kv=8, d_ff=32, num_layers=1, num_heads=2)),
        projection_model=StableAudioProjectionModel(text_encoder_dim=32, conditioning_dim=4, min_value=0, max_value=32),
        tokenizer=tokenizer,
        # 4,000 latent frames of a 2-sample hop at 2 kHz: up to 4 s in one pass.
        transformer=StableAudioDiTModel(sample_size=4000, in_channels=3, num_layers=2, attention_head_dim=4,
                                        num_key_value_attention_heads=2, num_attention_heads=2, out_channels=3,
                                        cross_attention_dim=4, time_proj_dim=8, global_states_input_dim=8,
                                        cross_attention_input_dim=4),
        scheduler=CosineDPMSolverMultistepScheduler(solver_order=2, prediction_type="v_prediction", sigma_data=1.0,
                                                    sigma_schedule="exponential"),
    )
    pipe.save_pretrained(path)
    return path


def build_tiny_audioldm2(path: Path) -> Path:
    """An AudioLDM2Pipeline (CLAP and T5 text encoders, a GPT-2 that writes the conditioning, a
    two-level UNet, a KL autoencoder over mel-spectrograms, a HiFi-GAN at 16 kHz, DDIM) in the
    layout diffusers saves; the configurations follow diffusers' own dummy components."""
    import json
    import tempfile

    import torch
    from diffusers import (AudioLDM2Pipeline, AudioLDM2ProjectionModel, AudioLDM2UNet2DConditionModel, AutoencoderKL,
                           DDIMScheduler)
    from transformers import (ClapAudioConfig, ClapConfig, ClapFeatureExtractor, ClapModel, ClapTextConfig, GPT2Config,
                              GPT2LMHeadModel, RobertaTokenizer, SpeechT5HifiGan, SpeechT5HifiGanConfig, T5Config,
                              T5EncoderModel)

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # A byte-level BPE vocabulary of printable characters and no merges.
        vocab = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>", "Ġ"] + [chr(c) for c in range(33, 127)])}
        (tmp / "vocab.json").write_text(json.dumps(vocab))
        (tmp / "merges.txt").write_text("#version: 0.2\n")
        roberta = RobertaTokenizer(vocab_file=str(tmp / "vocab.json"), merges_file=str(tmp / "merges.txt"), model_max_length=77)
        t5_tokenizer = _tiny_t5_tokenizer(tmp / "t5")
    text = ClapTextConfig(bos_token_id=0, eos_token_id=2, hidden_size=8, intermediate_size=37, num_attention_heads=1,
                          num_hidden_layers=1, pad_token_id=1, vocab_size=len(vocab), projection_dim=8)
    audio = ClapAudioConfig(spec_size=8, window_size=4, num_mel_bins=8, intermediate_size=37, depths=[1, 1],
                            num_attention_heads=[1, 1], num_hidden_layers=1, hidden_size=192, projection_dim=8,
                            patch_size=2, patch_stride=2, patch_embed_input_channels=4)
    language_model = GPT2LMHeadModel(GPT2Config(n_embd=16, n_head=2, n_layer=1, vocab_size=100, n_ctx=99, n_positions=99))
    language_model.config.max_new_tokens = 8
    pipe = AudioLDM2Pipeline(
        vae=AutoencoderKL(block_out_channels=[8, 16], in_channels=1, out_channels=1, norm_num_groups=8,
                          down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                          latent_channels=4),
        text_encoder=ClapModel(ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=16)),
        text_encoder_2=T5EncoderModel(T5Config(vocab_size=36, d_model=32, d_ff=37, d_kv=8, num_heads=2, num_layers=1)),
        projection_model=AudioLDM2ProjectionModel(text_encoder_dim=16, text_encoder_1_dim=32, langauge_model_dim=16),
        language_model=language_model, tokenizer=roberta, tokenizer_2=t5_tokenizer,
        feature_extractor=ClapFeatureExtractor(),
        unet=AudioLDM2UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=8,
                                           sample_size=32, in_channels=4, out_channels=4,
                                           down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                           up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=(8, 16)),
        scheduler=DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                                set_alpha_to_one=False),
        vocoder=SpeechT5HifiGan(SpeechT5HifiGanConfig(model_in_dim=8, sampling_rate=16000, upsample_initial_channel=16,
                                                      upsample_rates=[2, 2], upsample_kernel_sizes=[4, 4],
                                                      resblock_kernel_sizes=[3, 7],
                                                      resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5]],
                                                      normalize_before=False)),
    )
    pipe.save_pretrained(path)
    return path
