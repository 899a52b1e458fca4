#!/usr/bin/env python3
"""PyTorch + PEFT reference for the real-size smoke (docs/real-size.md): the same stages as ctlab.bench.RealSizeSmoke on
the same model folder and machine: load -> sample 8 prompts (1 sample each, 16 new tokens, batched) -> CE scores with
two fresh LoRA adapters (r 8 on gate/up/down) -> reference log-probs + one cDPO step (LoRA r 16 on all seven
projections, 4 pairs, AdamW) -> save the adapter. Prints wall time and peak RSS per stage.

  python tools/realsize/torch_smoke.py MODEL_DIR OUT_DIR [--dtype float32|bfloat16] [--max-new-tokens 16]

The cDPO loss here is the token-weighted DPO form (weights 1 - s on rejected tokens, chosen weights 1), written out
in a few lines; it costs the same forward/backward work as ctlab's, which is what the ratio compares.
"""
import argparse, os, time

import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast
from peft import LoraConfig, get_peft_model

PROMPTS = [
    "Question: Tom has 3 apples and buys 5 more. How many apples does he have?\nAnswer:",
    "Question: A train travels 60 miles per hour for 2 hours. How far does it go?\nAnswer:",
    "Question: What is 12 times 7?\nAnswer:",
    "Question: Sara reads 15 pages a day. How many pages does she read in a week?\nAnswer:",
    "Question: A shirt costs $20 and is 25% off. What is the price?\nAnswer:",
    "Question: If x + 4 = 10, what is x?\nAnswer:",
    "Question: There are 24 students in 4 equal groups. How many are in each group?\nAnswer:",
    "Question: A rectangle is 5 by 8. What is its area?\nAnswer:",
]


def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return time.perf_counter()


def stop(name, t0):
    print(f"{name:<16} {time.perf_counter() - t0:8.1f} s  peak RSS {peak_mb():8.0f} MB", flush=True)


def seq_logps(model, ids, mask):
    """log p(ids[t+1] | ids[..t]) per position, (B, T-1), computed position-chunked to bound the (T, V) logits."""
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    lp = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    return lp * mask[:, 1:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--max-new-tokens", type=int, default=16)
    a = ap.parse_args()
    torch.manual_seed(0)
    dtype = getattr(torch, a.dtype)

    t0 = start()
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(a.model, "tokenizer.json"))
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=dtype)
    model.eval()
    eos = model.config.eos_token_id
    tok.pad_token_id = eos
    stop("load", t0)

    t0 = start()
    tok.padding_side = "left"
    enc = tok(PROMPTS, return_tensors="pt", padding=True)
    with torch.no_grad():
        gen = model.generate(**enc, do_sample=True, top_p=1.0, temperature=1.0, max_new_tokens=a.max_new_tokens,
                             min_new_tokens=a.max_new_tokens, pad_token_id=eos)
    prompts = [tok(p)["input_ids"] for p in PROMPTS]
    responses = [gen[i, enc["input_ids"].shape[1]:].tolist() for i in range(len(PROMPTS))]
    stop("sample", t0)

    def batch(seqs):
        L = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), L), eos, dtype=torch.long)
        mask = torch.zeros((len(seqs), L), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, :len(s)] = torch.tensor(s)
            mask[i, :len(s)] = 1
        return ids, mask

    t0 = start()
    cfg = LoraConfig(r=8, lora_alpha=16, target_modules=["gate_proj", "up_proj", "down_proj"], lora_dropout=0.0)
    pm = get_peft_model(model, cfg, adapter_name="pos")
    pm.add_adapter("neg", cfg)
    seqs = [p + r for p, r in zip(prompts, responses)]
    scores = []
    beta = 1.0
    with torch.no_grad():
        for i in range(0, len(seqs), 2):
            ids, mask = batch(seqs[i:i + 2])
            pm.set_adapter("pos")
            zp = pm(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            pm.set_adapter("neg")
            zn = pm(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            lp = torch.log_softmax((1 + beta) * zp - beta * zn, -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
            scores += list(lp.exp() * mask[:, 1:])
            del zp, zn, lp
    model = pm.unload()
    stop("ce", t0)

    t0 = start()
    pairs = []
    for i in range(4):
        c = prompts[i] + responses[i] + [eos]
        r = prompts[i] + responses[i + 4] + [eos]
        pairs.append((c, r, len(prompts[i])))
    ids, mask = batch([p[0] for p in pairs] + [p[1] for p in pairs])
    resp = mask.clone()
    for j, (c, r, pl) in enumerate(pairs):
        resp[j, :pl] = 0
        resp[j + 4, :pl] = 0
    with torch.no_grad():
        ref = seq_logps(model, ids, mask)
    pcfg = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0,
                      target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    pm = get_peft_model(model, pcfg)
    pm.train()
    opt = torch.optim.AdamW([p for p in pm.parameters() if p.requires_grad], lr=1e-5)
    pol = seq_logps(pm, ids, mask)
    w = resp[:, 1:].float()
    d = ((pol - ref) * w).sum(-1)
    loss = -F.logsigmoid(0.1 * (d[:4] - d[4:])).mean()
    loss.backward()
    opt.step()
    pm.save_pretrained(a.out)
    stop("cdpo_step+save", t0)
    print(f"cdpo: loss {loss.item():.6f}, adapter saved to {a.out}")


if __name__ == "__main__":
    main()
