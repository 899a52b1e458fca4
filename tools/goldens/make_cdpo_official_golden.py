"""Writes toolkit/src/test/resources/goldens/cdpo_official_loss.json: losses computed by the official cDPO code's
CDPOTrainer.dpo_loss (chenzhiling9954/Critical-Tokens-Matter, src/train/train_cdpo.py) on fixed inputs laid out as
the official trainer sees them (TRL 0.9.6: per-token log-probs on the padded prompt+response grid, prompt and padding
masked to 0; ce_prob over the whole sequence), together with the same inputs response-aligned for ctlab's
`cdpo-official` loss.

The official code is not vendored: pass a checkout (or any copy of src/train/train_cdpo.py) with --official-repo.
Only the dpo_loss method is taken from it (via ast), so its heavy imports (vllm, peft, datasets) are not needed.

Run: /work/pyref/bin/python tools/goldens/make_cdpo_official_golden.py --official-repo PATH
"""
import argparse
import ast
import json
import os
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "toolkit", "src", "test", "resources", "goldens",
                   "cdpo_official_loss.json")


def load_official_dpo_loss(repo):
    path = os.path.join(repo, "src", "train", "train_cdpo.py")
    tree = ast.parse(open(path).read())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "CDPOTrainer")
    fn = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "dpo_loss")
    module = ast.Module(body=[fn], type_ignores=[])
    scope = {"torch": torch, "F": F, "pad_sequence": pad_sequence, "Tuple": tuple}
    exec(compile(module, path, "exec"), scope)
    return scope["dpo_loss"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--official-repo", required=True)
    dpo_loss = load_official_dpo_loss(ap.parse_args().official_repo)

    g = torch.Generator().manual_seed(2411)
    B = 3
    prompt = [3, 5, 2]        # prompt tokens P incl. BOS
    n_chosen = [4, 2, 5]      # response tokens incl. EOS
    n_rejected = [3, 6, 2]
    G = max(p + n for p, n in zip(prompt + prompt, n_chosen + n_rejected)) - 1  # label positions per row

    def rand(n, lo, hi):
        return (torch.rand(n, generator=g, dtype=torch.float64) * (hi - lo) + lo).tolist()

    sides = {}
    for side, lens in (("chosen", n_chosen), ("rejected", n_rejected)):
        pol = [rand(n, -3, -0.05) for n in lens]
        ref = [[x + d for x, d in zip(row, rand(len(row), -0.6, 0.6))] for row in pol]
        # ce_prob over tokens 1..N-1 of prompt + response text (no EOS): P-1 prompt scores then n-1 response scores
        ce = [rand(p - 1 + n - 1, 0.01, 0.99) for p, n in zip(prompt, lens)]
        sides[side] = (pol, ref, ce)

    def grid(rows, lens):
        t = torch.zeros(B, G, dtype=torch.float64)
        for i, (row, p) in enumerate(zip(rows, prompt)):
            t[i, p - 1: p - 1 + len(row)] = torch.tensor(row, dtype=torch.float64)
        return t

    pc, rc, cc = sides["chosen"]
    pr, rr, cr = sides["rejected"]
    prob_result = [{"pos": {"ce_prob": cc[i], "response_start_idx": prompt[i] - 1, "text": ""},
                    "neg": {"ce_prob": cr[i], "response_start_idx": prompt[i] - 1, "text": ""}} for i in range(B)]
    cases = []
    for only_neg in (True, False):
        for beta, eps in ((0.1, 0.0), (0.5, 0.0), (0.3, 0.1)):
            stub = SimpleNamespace(model_name="Meta-Llama-3-8B", only_neg=only_neg, beta=beta, label_smoothing=eps,
                                   accelerator=SimpleNamespace(device="cpu"))
            pcg, rcg, prg, rrg = grid(pc, n_chosen), grid(rc, n_chosen), grid(pr, n_rejected), grid(rr, n_rejected)
            losses, _, _ = dpo_loss(stub, pcg, prg, rcg, rrg, rcg.sum(-1), rrg.sum(-1), pcg.sum(-1), prg.sum(-1),
                                    prob_result)
            assert losses.shape == (B, G), losses.shape
            cases.append({"only_neg": only_neg, "beta": beta, "label_smoothing": eps, "loss": float(losses.mean())})

    # ctlab's response-aligned view: per response token, s = ce_prob[P-1:], plus the official EOS weights
    # (chosen weight 1, rejected 1 - 0): s+ = 1 and s- = 0 at EOS.
    fixture = {
        "generator": "tools/goldens/make_cdpo_official_golden.py (official CDPOTrainer.dpo_loss, Llama path)",
        "torch_version": torch.__version__,
        "official_positions": G,
        "policy_chosen": pc, "reference_chosen": rc, "policy_rejected": pr, "reference_rejected": rr,
        "s_chosen": [cc[i][prompt[i] - 1:] + [1.0] for i in range(B)],
        "s_rejected": [cr[i][prompt[i] - 1:] + [0.0] for i in range(B)],
        "prob_result": prob_result,
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1)
    print("wrote", os.path.normpath(OUT), "G =", G)
    for c in cases:
        print(c)


if __name__ == "__main__":
    main()
