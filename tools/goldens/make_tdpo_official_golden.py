"""Writes toolkit/src/test/resources/goldens/tdpo_official_loss.json: TDPO1 and TDPO2 losses computed by the official
TDPO code (Vance0124/Token-level-Direct-Preference-Optimization, trainers.py: _tdpo_get_batch_logps and tdpo_loss)
from fixed policy and reference logits, with the same logits (response positions only) for ctlab's
SequenceKl + tokendpo loss.

The official code is not vendored: pass a checkout (or a copy of trainers.py) with --official-repo. Only the two
functions are taken from it (via ast), so its heavy imports (wandb, tensor_parallel, FSDP) are not needed.

Run: /work/pyref/bin/python tools/goldens/make_tdpo_official_golden.py --official-repo PATH
"""
import argparse
import ast
import json
import os
from typing import Tuple

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "toolkit", "src", "test", "resources", "goldens",
                   "tdpo_official_loss.json")


def load_official(repo):
    path = os.path.join(repo, "trainers.py")
    tree = ast.parse(open(path).read())
    fns = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in ("tdpo_loss", "_tdpo_get_batch_logps")]
    scope = {"torch": torch, "F": F, "Tuple": Tuple}
    exec(compile(ast.Module(body=fns, type_ignores=[]), path, "exec"), scope)
    return scope["_tdpo_get_batch_logps"], scope["tdpo_loss"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--official-repo", required=True)
    get_logps, tdpo_loss = load_official(ap.parse_args().official_repo)

    g = torch.Generator().manual_seed(404)
    B, V = 2, 6
    prompt = [3, 2]
    lens = {"chosen": [4, 2], "rejected": [3, 5]}
    L = max(p + n for side in lens.values() for p, n in zip(prompt, side))
    data, sums = {}, {}
    for side, ns in lens.items():
        ids = torch.randint(0, V, (B, L), generator=g)
        labels = torch.full((B, L), -100, dtype=torch.long)
        for i, (p, n) in enumerate(zip(prompt, ns)):
            labels[i, p: p + n] = ids[i, p: p + n]
        pol = torch.randn(B, L, V, generator=g, dtype=torch.float64) * 1.5
        ref = pol + torch.randn(B, L, V, generator=g, dtype=torch.float64) * 0.4
        sums[side] = get_logps(pol, ref, labels)  # (margin, kl, logps) sums per row
        # ctlab view: logits at the positions that predict each response token, and those tokens
        data[side] = {
            "policy_logits": [pol[i, p - 1: p - 1 + n].tolist() for i, (p, n) in enumerate(zip(prompt, ns))],
            "reference_logits": [ref[i, p - 1: p - 1 + n].tolist() for i, (p, n) in enumerate(zip(prompt, ns))],
            "targets": [ids[i, p: p + n].tolist() for i, (p, n) in enumerate(zip(prompt, ns))],
        }
    cases = []
    for tdpo2, alpha, beta in ((False, 0.5, 0.1), (True, 0.5, 0.1), (True, 0.2, 0.5)):
        losses, _, _ = tdpo_loss(sums["chosen"][0], sums["rejected"][0], sums["chosen"][1], sums["rejected"][1],
                                 beta=beta, alpha=alpha, if_tdpo2=tdpo2)
        cases.append({"tdpo2": tdpo2, "alpha": alpha, "beta": beta, "loss": float(losses.mean())})
    fixture = {"generator": "tools/goldens/make_tdpo_official_golden.py (official tdpo_loss, _tdpo_get_batch_logps)",
               "torch_version": torch.__version__, "vocab": V,
               "seq_kl_chosen": sums["chosen"][1].tolist(), "seq_kl_rejected": sums["rejected"][1].tolist(),
               "chosen": data["chosen"], "rejected": data["rejected"], "cases": cases}
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1)
    print("wrote", os.path.normpath(OUT))
    for c in cases:
        print(c)


if __name__ == "__main__":
    main()
