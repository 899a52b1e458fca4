#!/usr/bin/env python3
"""Writes randomly initialised models with the exact tensor shapes of real checkpoints, plus a real-size BPE
tokenizer.json, for the real-size smoke (docs/real-size.md). Nothing here is a trained model.

  python tools/realsize/make_model.py OUT_DIR [--shape qwen2.5-0.5b|llama-3.2-1b] [--layers N] [--seed S]

--layers N keeps every width and the vocabulary but builds N decoder layers (the CI-sized smoke uses 2).

Tokenizer: a byte-level BPE trained with `tokenizers` on the GSM8K and MATH500 text in ../shared/datasets, asked for
the real vocabulary size. That corpus (a few MB) runs out of pairs to merge long before 150k entries, so the vocabulary
is then grown honestly to the config's vocab_size: ids past the trained ones are vocabulary entries ("<unused_N>")
that no merge rule produces, so no text ever encodes to them, like the padded, never-used rows of real checkpoints.
The embedding and lm_head matrices and every log-softmax therefore have the real width; the merge table is smaller
than the real one (the number is printed and stored in the model's realsize.json).
"""
import argparse, json, os, pathlib, sys

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers, processors

SHAPES = {
    "qwen2.5-0.5b": dict(
        architectures=["Qwen2ForCausalLM"], model_type="qwen2", hidden_size=896, num_hidden_layers=24,
        num_attention_heads=14, num_key_value_heads=2, intermediate_size=4864, vocab_size=151936,
        tie_word_embeddings=True, rope_theta=1000000.0, rms_norm_eps=1e-6, max_position_embeddings=32768,
        hidden_act="silu", bos_token_id=151643, eos_token_id=151643, torch_dtype="bfloat16",
        use_sliding_window=False, sliding_window=32768, max_window_layers=24, attention_dropout=0.0,
        specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"], bos=None, eos="<|endoftext|>"),
    "llama-3.2-1b": dict(
        architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=2048, num_hidden_layers=16,
        num_attention_heads=32, num_key_value_heads=8, intermediate_size=8192, vocab_size=128256, head_dim=64,
        tie_word_embeddings=True, rope_theta=500000.0, rms_norm_eps=1e-5, max_position_embeddings=131072,
        hidden_act="silu", attention_bias=False, mlp_bias=False, torch_dtype="bfloat16",
        rope_scaling=dict(factor=32.0, high_freq_factor=4.0, low_freq_factor=1.0,
                          original_max_position_embeddings=8192, rope_type="llama3"),
        specials=["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"], bos="<|begin_of_text|>", eos="<|end_of_text|>"),
}


def corpus(shared):
    for f in ["gsm8k/train.jsonl", "gsm8k/test.jsonl", "math500/test.jsonl"]:
        p = shared / "datasets" / f
        if not p.exists():
            continue
        with open(p, encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                yield " ".join(str(v) for v in r.values() if isinstance(v, str))


def make_tokenizer(spec, shared):
    vocab_size = spec["vocab_size"]
    n_special = len(spec["specials"])
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - n_special, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(shared), trainer=trainer)
    trained = tok.get_vocab_size()
    d = json.loads(tok.to_str())
    vocab = d["model"]["vocab"]
    # grow: entries with no merge rule leading to them (never produced by encoding)
    i = 0
    while len(vocab) < vocab_size - n_special:
        vocab[f"<unused_{i}>"] = len(vocab)
        i += 1
    d["added_tokens"] = []
    for s in spec["specials"]:
        d["added_tokens"].append(dict(id=len(vocab) + len(d["added_tokens"]), content=s, single_word=False,
                                      lstrip=False, rstrip=False, normalized=False, special=True))
    ids = {a["content"]: a["id"] for a in d["added_tokens"]}
    if spec["bos"]:
        b = spec["bos"]
        d["post_processor"] = dict(type="TemplateProcessing",
                                   single=[{"SpecialToken": {"id": b, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                                   pair=[{"SpecialToken": {"id": b, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                         {"SpecialToken": {"id": b, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                                   special_tokens={b: {"id": b, "ids": [ids[b]], "tokens": [b]}})
    else:
        d["post_processor"] = dict(type="ByteLevel", add_prefix_space=False, trim_offsets=False, use_regex=False)
    return d, trained, len(d["model"]["merges"]), ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--shape", default="qwen2.5-0.5b", choices=sorted(SHAPES))
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shared", default=str(pathlib.Path(__file__).resolve().parents[3] / "shared"))
    a = ap.parse_args()
    spec = dict(SHAPES[a.shape])
    if a.layers:
        spec["num_hidden_layers"] = a.layers
        if "max_window_layers" in spec:
            spec["max_window_layers"] = a.layers
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    tj, trained, merges, ids = make_tokenizer(spec, pathlib.Path(a.shared))
    (out / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False))
    eos = ids[spec["eos"]]
    cfg = {k: v for k, v in spec.items() if k not in ("specials", "bos", "eos")}
    cfg["eos_token_id"] = eos
    cfg["bos_token_id"] = ids[spec["bos"]] if spec["bos"] else eos
    (out / "config.json").write_text(json.dumps(cfg, indent=2))

    torch.manual_seed(a.seed)
    h, i_, v = spec["hidden_size"], spec["intermediate_size"], spec["vocab_size"]
    d = spec.get("head_dim", h // spec["num_attention_heads"])
    q, kv = spec["num_attention_heads"] * d, spec["num_key_value_heads"] * d
    bias = spec["model_type"] == "qwen2"

    def rnd(*s):
        return (torch.randn(*s) * 0.02).to(torch.bfloat16)

    w = {"model.embed_tokens.weight": rnd(v, h), "model.norm.weight": torch.ones(h, dtype=torch.bfloat16)}
    for L in range(spec["num_hidden_layers"]):
        p = f"model.layers.{L}."
        w[p + "input_layernorm.weight"] = torch.ones(h, dtype=torch.bfloat16)
        w[p + "post_attention_layernorm.weight"] = torch.ones(h, dtype=torch.bfloat16)
        for n, o, i in [("q", q, h), ("k", kv, h), ("v", kv, h), ("o", h, q)]:
            w[p + f"self_attn.{n}_proj.weight"] = rnd(o, i)
            if bias and n != "o":
                w[p + f"self_attn.{n}_proj.bias"] = rnd(o)
        w[p + "mlp.gate_proj.weight"] = rnd(i_, h)
        w[p + "mlp.up_proj.weight"] = rnd(i_, h)
        w[p + "mlp.down_proj.weight"] = rnd(h, i_)
    save_file(w, str(out / "model.safetensors"), metadata={"format": "pt"})
    n = sum(t.numel() for t in w.values())
    info = dict(shape=a.shape, layers=spec["num_hidden_layers"], parameters=n, vocab_size=v,
                bpe_trained_entries=trained, bpe_merges=merges, seed=a.seed)
    (out / "realsize.json").write_text(json.dumps(info, indent=2))
    print(json.dumps(info))


if __name__ == "__main__":
    main()
