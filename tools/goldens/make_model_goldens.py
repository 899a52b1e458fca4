#!/usr/bin/env python3
"""Golden fixtures for ctlab.model: tiny random Llama-3-style (GQA, rope_theta 500000, llama3 rope scaling),
Mistral-style (sliding window 6) and Qwen2-style (q/k/v bias, tied embeddings) models saved with transformers' save_pretrained, a tiny
byte-level BPE tokenizer.json, and the reference numbers the Java tests compare against:
logits and shifted per-token log-probs for a right-padded batch, greedy continuations (HF generate,
do_sample=False) and a PEFT LoRA adapter with non-zero B plus its logits.

Run:  /work/pyref/bin/python tools/goldens/make_model_goldens.py [out_dir]
(default out_dir: toolkit/src/test/resources/goldens). CI never runs this; it uses the committed output.
Then run make_tokenizer_goldens.py: it gives the llama/mistral tokenizer.json Llama-3's post-processor (BOS).
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "toolkit/src/test/resources/goldens")
VOCAB = 300
BOS, EOS = "<|begin_of_text|>", "<|end_of_text|>"

CORPUS = [
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.",
    "How many clips did Natalia sell altogether in April and May? The answer is 72.",
    "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting.",
    "Let x be the number of apples. Then 3x + 5 = 20, so x = 5.",
    "Step 1: compute the total. Step 2: divide by the number of days. The answer is 12.",
] * 20

TEXTS = [
    "The answer is 72.",
    "Let x be 5, then 3x + 5 = 20",
    "Weng earns $12",
]


def make_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - 8, special_tokens=[BOS, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def randomize(model, std, seed):
    """HF's default init (std 0.02, norms 1, biases 0) gives near-flat logits where greedy ties are
    fragile; use larger weights and non-trivial norms and biases so every op is exercised."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(std * torch.randn(p.shape, generator=g))


def batch(tok):
    ids = [tok.encode(t).ids for t in TEXTS]
    bos = tok.token_to_id(BOS)
    ids = [[bos] + x for x in ids]
    t = max(len(x) for x in ids)
    input_ids = torch.zeros((len(ids), t), dtype=torch.long)
    mask = torch.zeros((len(ids), t), dtype=torch.long)
    for i, x in enumerate(ids):
        input_ids[i, :len(x)] = torch.tensor(x)
        mask[i, :len(x)] = 1
    return input_ids, mask


def shifted_logprobs(logits, ids, mask):
    lp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    tgt = ids[:, 1:]
    out = lp.gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
    return out * mask[:, 1:]


def greedy(model, prompts, n):
    outs, margins = [], []
    for p in prompts:
        x = torch.tensor([p])
        g = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=n, do_sample=False,
                           output_scores=True, return_dict_in_generate=True, pad_token_id=0)
        outs.append(g.sequences[0, len(p):].tolist())
        for s in g.scores:
            top = torch.topk(s[0], 2).values
            margins.append(float(top[0] - top[1]))
    return outs, min(margins)


def build(kind, tok):
    from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, Qwen2Config,
                              Qwen2ForCausalLM)
    bos, eos = tok.token_to_id(BOS), tok.token_to_id(EOS)
    if kind == "llama":
        cfg = LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                          rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=False,
                          rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                        "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
                          bos_token_id=bos, eos_token_id=eos, attn_implementation="eager")
        model = LlamaForCausalLM(cfg)
    elif kind == "mistral":
        # Mistral-7B-v0.1 style with a tiny sliding_window (6) so the window matters in these short sequences
        cfg = MistralConfig(vocab_size=VOCAB, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=2, head_dim=12, max_position_embeddings=256,
                            rms_norm_eps=1e-5, rope_theta=10000.0, sliding_window=6, tie_word_embeddings=False,
                            bos_token_id=bos, eos_token_id=eos, attn_implementation="eager")
        model = MistralForCausalLM(cfg)
    else:
        cfg = Qwen2Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=256,
                          rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True,
                          bos_token_id=None, eos_token_id=eos, attn_implementation="eager")
        model = Qwen2ForCausalLM(cfg)
    randomize(model, 0.15, {"llama": 7, "qwen2": 11, "mistral": 17}[kind])
    model.eval()
    return model


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    tok = make_tokenizer()
    summary = {"tokenizer": {"texts": TEXTS, "ids": [tok.encode(t).ids for t in TEXTS],
                             "vocab_size": tok.get_vocab_size()}}
    for kind in ("llama", "qwen2", "mistral"):
        d = os.path.join(OUT, kind)
        model = build(kind, tok)
        model.save_pretrained(d, safe_serialization=True)
        tok.save(os.path.join(d, "tokenizer.json"))
        ids, mask = batch(tok)
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask).logits.float()
        lp = shifted_logprobs(logits, ids, mask)
        prompts = [ids[i, :int(mask[i].sum())].tolist() for i in range(ids.shape[0])]
        prompts = [p[1:] if kind == "qwen2" else p for p in prompts]  # Qwen2 has no BOS
        cont, margin = greedy(model, prompts, 10)
        assert margin > 1e-3, f"{kind}: greedy top-1/top-2 margin {margin} too small for an exact test"
        tensors = {"input_ids": ids, "attention_mask": mask, "logits": logits.contiguous(), "logprobs": lp}
        entry = {"prompts": prompts, "greedy": cont, "greedy_min_margin": margin,
                 "eos_token_id": tok.token_to_id(EOS)}
        if kind == "llama":
            from peft import LoraConfig, get_peft_model
            lcfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, task_type="CAUSAL_LM",
                              target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                              "down_proj"])
            peft_model = get_peft_model(model, lcfg)
            g = torch.Generator().manual_seed(3)
            with torch.no_grad():
                for n, p in peft_model.named_parameters():
                    if "lora_B" in n:
                        p.copy_(0.1 * torch.randn(p.shape, generator=g))
            peft_model.eval()
            with torch.no_grad():
                tensors["lora_logits"] = peft_model(input_ids=ids, attention_mask=mask).logits.float().contiguous()
            peft_model.save_pretrained(os.path.join(OUT, "llama-lora"))
            readme = os.path.join(OUT, "llama-lora", "README.md")  # PEFT's model card: not a fixture
            if os.path.exists(readme):
                os.remove(readme)
        save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(d, "golden.safetensors"))
        summary[kind] = entry
    with open(os.path.join(OUT, "goldens.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
