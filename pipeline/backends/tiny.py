"""A random-weight LLaVA built locally from a config, for tests and for the demo on a machine with no model.

It is saved like any checkpoint and then loaded by the transformers backend from its folder, so it goes through
the same code, stages and parser as a real model. Its outputs are random words: everything it produces is marked
as placeholder output (``placeholder=True``) and must never be passed off as a real label.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from django.conf import settings

TINY_MODEL = "tiny-llava"

# A small English vocabulary so random outputs read as words (the tokenizer maps everything else to <unk>).
_WORD_LINES = (
    "the a an and of to in on at with by for from his",
    "her their is are was smiles smiling laughs crying frowns shouts hugs holds looks raises waves points",
    "stands sits walks runs jumps dances sings plays celebrates wins loses argues listens talks friend",
    "friends family crowd child children man woman people person team teacher face eyes mouth hands arms",
    "shoulders posture gesture tears smile frown grin fist hug kiss handshake gift cake flowers ball",
    "trophy medal camera phone letter car dog cat uniform dress suit hat costume party wedding concert",
    "game stadium office kitchen street park beach rain sunshine night light dark crowded quiet noisy",
    "bright warm cold birthday graduation holiday victory defeat news accident loss surprise joke music",
    "song dance performance sport match race award promotion exam meeting reunion farewell visit because",
    "after before while during good bad happy sad angry excited proud relieved scared tired lonely loud",
    "broken new old big small open closed raised lowered close together alone",
)
WORDS = [w for line in _WORD_LINES for w in line.split()]
SPECIAL = ["<pad>", "<s>", "</s>", "<unk>", "<image>"]
NUMBERS = [f"{i}." for i in range(1, 10)]


def tiny_model_dir() -> Path:
    return Path(getattr(settings, "EISTUDIO_MODELS_DIR", None) or Path(settings.VAR_DIR) / "models") / TINY_MODEL


def build_tiny_llava(path: Path, *, hidden: int = 32, layers: int = 2, heads: int = 4, seed: int = 0) -> Path:
    """Write a random-weight LLaVA checkpoint (processor + model) to ``path`` and return it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import (
        CLIPImageProcessor,
        GenerationConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    torch.manual_seed(seed)
    words = SPECIAL + NUMBERS + [",", "."] + WORDS + ["USER:", "ASSISTANT:"]
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))  # noqa: S106
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)  # joins words with spaces
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",  # noqa: S106
                                        unk_token="<unk>", pad_token="<pad>",  # noqa: S106
                                        extra_special_tokens={"image_token": "<image>"},
                                        model_input_names=["input_ids", "attention_mask"])
    image_processor = CLIPImageProcessor(size={"shortest_edge": 8}, crop_size={"height": 8, "width": 8},
                                         do_center_crop=True, do_normalize=True,
                                         image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    template = ("{% for m in messages %}{{ m['role'].upper() + ': ' }}{% if m['content'] is string %}"
                "{{ m['content'] + ' ' }}{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}"
                "{{ '<image> ' }}{% else %}{{ c['text'] + ' ' }}{% endif %}{% endfor %}{% endif %}{% endfor %}"
                "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}")
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=2,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1,
                               chat_template=template)
    config = LlavaConfig(
        text_config={"model_type": "llama", "vocab_size": len(vocab), "hidden_size": hidden,
                     "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": heads,
                     "intermediate_size": hidden * 2, "max_position_embeddings": 4096, "pad_token_id": 0,
                     "bos_token_id": 1, "eos_token_id": 2},
        vision_config={"model_type": "clip_vision_model", "image_size": 8, "patch_size": 2, "num_channels": 3,
                       "hidden_size": 32, "projection_dim": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
                       "intermediate_size": 37},
        image_token_index=vocab["<image>"], projector_hidden_act="gelu", vision_feature_select_strategy="default",
        vision_feature_layer=-1, image_seq_length=(8 // 2) ** 2,
    )
    model = LlavaForConditionalGeneration(config).eval()
    # Part of the checkpoint, as with any model: never emit special tokens, never an empty reply.
    model.generation_config = GenerationConfig(
        bos_token_id=1, eos_token_id=2, pad_token_id=0, min_new_tokens=8,
        suppress_tokens=[vocab[t] for t in ("<pad>", "<s>", "<unk>", "<image>", "USER:", "ASSISTANT:")],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tiny-", dir=path.parent))
    model.save_pretrained(staging)
    processor.save_pretrained(staging)
    try:
        os.rename(staging, path)  # atomic: two workers building at once never see half a checkpoint
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (path / "config.json").exists():
            raise
    return path


def ensure_tiny_model() -> str:
    """The tiny checkpoint's folder, built on first use (a second or two on a CPU)."""
    path = tiny_model_dir()
    if not (path / "config.json").exists():
        build_tiny_llava(path)
    return str(path)


def load():
    from . import transformers as tf

    return tf.load(ensure_tiny_model(), device="cpu", name="tiny", placeholder=True,
                   display=f"{TINY_MODEL} (random weights)")
