#!/usr/bin/env python3
"""Golden fixtures for the engine variants a Llama-family config.json can ask for beyond the main fixtures
(make_model_goldens.py): MLP activations other than SiLU (`hidden_act`) and `tie_word_embeddings: true` with a
distinct `lm_head.weight` stored in the file. One tiny random LlamaForCausalLM per variant (vocab 64, hidden 32,
2 layers, GQA), no tokenizer: the Java tests feed token ids.

Per variant folder: config.json + model.safetensors (as save_pretrained writes them, except the tied variant, see
below) and golden.safetensors (input_ids, attention_mask of a right-padded batch, transformers' logits of the model
as transformers loads the folder) plus variants.json (greedy continuations of HF generate, the versions used).

Run:  /work/pyref-h3/bin/python tools/goldens/make_variant_goldens.py [out_dir]
(default out_dir: toolkit/src/test/resources/goldens/variants). CI never runs this; it uses the committed output.
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file, load_file
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "toolkit/src/test/resources/goldens/variants")
VOCAB = 64
ACTS = ["gelu", "gelu_pytorch_tanh", "gelu_new", "relu"]
IDS = [[1, 5, 17, 33, 9, 41, 2, 60], [1, 7, 7, 12, 50], [1, 63, 30, 4, 22, 8, 11]]


def config(act, tie):
    return LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                       rms_norm_eps=1e-5, rope_theta=10000.0, hidden_act=act, tie_word_embeddings=tie,
                       bos_token_id=1, eos_token_id=2, attn_implementation="eager")


def randomize(model, seed):
    # larger than HF's init so the activation's shape (negative inputs, tails) changes the logits clearly
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))


def batch():
    t = max(len(x) for x in IDS)
    ids = torch.zeros((len(IDS), t), dtype=torch.long)
    mask = torch.zeros((len(IDS), t), dtype=torch.long)
    for i, x in enumerate(IDS):
        ids[i, :len(x)] = torch.tensor(x)
        mask[i, :len(x)] = 1
    return ids, mask


def reference(d):
    """Logits and greedy continuations of the folder as transformers itself loads it."""
    model = LlamaForCausalLM.from_pretrained(d, attn_implementation="eager", torch_dtype=torch.float32)
    model.eval()
    ids, mask = batch()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits.float().contiguous()
    outs, margins = [], []
    for p in IDS:
        x = torch.tensor([p])
        g = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=8, do_sample=False,
                           output_scores=True, return_dict_in_generate=True, pad_token_id=0, eos_token_id=None)
        outs.append(g.sequences[0, len(p):].tolist())
        for s in g.scores:
            top = torch.topk(s[0], 2).values
            margins.append(float(top[0] - top[1]))
    assert min(margins) > 1e-3, f"{d}: greedy top-1/top-2 margin {min(margins)} too small for an exact test"
    save_file({"input_ids": ids, "attention_mask": mask, "logits": logits}, os.path.join(d, "golden.safetensors"))
    return model, {"greedy": outs, "greedy_min_margin": min(margins)}


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    summary = {"transformers": transformers.__version__, "torch": torch.__version__, "prompts": IDS}
    for i, act in enumerate(ACTS):
        d = os.path.join(OUT, act)
        model = LlamaForCausalLM(config(act, False))
        randomize(model, 100 + i)
        model.save_pretrained(d, safe_serialization=True)
        _, entry = reference(d)
        # the same weights computed with SiLU: how far off ignoring hidden_act would be
        silu = LlamaForCausalLM(config("silu", False))
        silu.load_state_dict(model.state_dict())
        silu.eval()
        ids, mask = batch()
        with torch.no_grad():
            diff = (silu(input_ids=ids, attention_mask=mask).logits - model(input_ids=ids, attention_mask=mask).logits)
        entry["silu_max_abs_diff"] = float(diff.abs().max())
        summary[act] = entry

    # tie_word_embeddings: true, but the file also holds an lm_head.weight that differs from embed_tokens
    # (save_pretrained would drop it, so the file is written by hand). What transformers does with it is
    # whatever the reference() load does; the summary records which matrix it used.
    d = os.path.join(OUT, "tied_distinct_head")
    model = LlamaForCausalLM(config("silu", True))
    randomize(model, 200)
    model.save_pretrained(d, safe_serialization=True)
    sd = {k: v.contiguous() for k, v in load_file(os.path.join(d, "model.safetensors")).items()}
    g = torch.Generator().manual_seed(201)
    head = 0.3 * torch.randn(sd["model.embed_tokens.weight"].shape, generator=g)
    sd["lm_head.weight"] = head
    save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    loaded, entry = reference(d)
    out_w = loaded.get_output_embeddings().weight.detach()
    in_w = loaded.get_input_embeddings().weight.detach()
    entry["lm_head_is_file_lm_head"] = bool(torch.equal(out_w, head))
    entry["lm_head_is_embed_tokens"] = bool(torch.equal(out_w, in_w))
    entry["embed_tokens_is_file_embed_tokens"] = bool(torch.equal(in_w, sd["model.embed_tokens.weight"]))
    summary["tied_distinct_head"] = entry

    with open(os.path.join(OUT, "variants.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
