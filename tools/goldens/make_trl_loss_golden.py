"""Writes toolkit/src/test/resources/goldens/trl_dpo_losses.json: DPO, RPO and SFT loss values and metrics computed by
TRL's own DPOTrainer._compute_loss (trl 1.16) on fixed per-token log-probs, for ctlab.train.loss's golden test.

TRL computes its losses inside DPOTrainer._compute_loss, which calls the model's fused LM head for per-token
log-probs. To feed fixed numbers we call that unmodified method with a stand-in `self` (only the attributes it reads)
and a stand-in model that returns the fixed per-token log-probs; reference log-probs go in through TRL's
precompute path (`ref_chosen_logps`/`ref_rejected_logps`). Label smoothing: TRL 1.16's "sigmoid" loss has none; its
"aot" loss applies the conservative form -(1-e)log s(bz) - e log s(-bz) to z = (pi_c - pi_r) - (ref_c - ref_r)
after sorting over the batch, which is exactly conservative DPO when the batch has one pair, so smoothing is checked
pair by pair with "aot".

Run: /work/pyref/bin/python tools/goldens/make_trl_loss_golden.py   (CI only reads the committed fixture)
"""
import json
import math
import os
from collections import defaultdict
from types import SimpleNamespace

import torch
import trl
from trl.trainer.dpo_trainer import DPOTrainer

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "toolkit", "src", "test", "resources", "goldens",
                   "trl_dpo_losses.json")

g = torch.Generator().manual_seed(20241129)
B = 3
prompt_lens = [4, 2, 3]
chosen_lens = [5, 3, 6]
rejected_lens = [4, 6, 2]


def rand_logps(n):
    return (-torch.rand(n, generator=g, dtype=torch.float64) * 3 - 0.05).tolist()


# response-aligned per-token log-probs (policy and reference), as ctlab's PreferenceBatch holds them
pol_c = [rand_logps(n) for n in chosen_lens]
pol_r = [rand_logps(n) for n in rejected_lens]
ref_c = [[x + float(d) for x, d in zip(row, (torch.rand(len(row), generator=g, dtype=torch.float64) - 0.5).tolist())]
         for row in pol_c]
ref_r = [[x + float(d) for x, d in zip(row, (torch.rand(len(row), generator=g, dtype=torch.float64) - 0.5).tolist())]
         for row in pol_r]
# pair 1 ranks the wrong way (chosen reward below rejected) so reward accuracy is not trivially 1
ref_c[1] = [x + 0.6 for x in ref_c[1]]


def trl_inputs(rows):
    """TRL's batch layout: [chosen..., rejected...] rows of prompt+completion, right-padded; per-token log-probs
    at shifted positions (label t+1 predicted at position t), zero where the label is not a completion token."""
    seqs = []
    for i, (kind, r) in enumerate(rows):
        p = prompt_lens[r]
        n = (chosen_lens if kind == "c" else rejected_lens)[r]
        seqs.append((p, n, (pol_c if kind == "c" else pol_r)[r]))
    L = max(p + n for p, n, _ in seqs)
    input_ids = torch.zeros(len(seqs), L, dtype=torch.long)
    attention = torch.zeros(len(seqs), L, dtype=torch.long)
    completion = torch.zeros(len(seqs), L, dtype=torch.long)
    logps = torch.zeros(len(seqs), L - 1, dtype=torch.float64)
    for i, (p, n, lp) in enumerate(seqs):
        input_ids[i, : p + n] = torch.arange(1, p + n + 1)
        attention[i, : p + n] = 1
        completion[i, p: p + n] = 1
        logps[i, p - 1: p - 1 + n] = torch.tensor(lp, dtype=torch.float64)
    return input_ids, attention, completion, logps


class FixedModel:
    """Stands in for a model patched with TRL's fused LM head: returns fixed per-token log-probs."""

    def __init__(self, logps):
        self.logps = logps
        self.training = True

    def __call__(self, **kwargs):
        z = torch.zeros_like(self.logps)
        return SimpleNamespace(log_probs=self.logps, entropy=z, mean_logits=z, is_top1=torch.zeros_like(z, dtype=torch.bool),
                               log_sum_sq_probs=z, aux_loss=None)


def trl_loss(pairs, loss_types, loss_weights, beta, label_smoothing):
    rows = [("c", r) for r in pairs] + [("r", r) for r in pairs]
    input_ids, attention, completion, logps = trl_inputs(rows)
    model = FixedModel(logps)
    stub = SimpleNamespace(
        model=model, ref_model=None, accelerator=SimpleNamespace(device="cpu", gather=lambda t: t,
                                                                 gather_for_metrics=lambda t: t),
        aux_loss_enabled=False, ld_alpha=None, precompute_ref_logps=True, f_divergence_type="reverse_kl",
        f_alpha_divergence_coef=0.5, loss_types=loss_types, loss_weights=loss_weights, beta=beta,
        label_smoothing=label_smoothing, use_weighting=False, _metrics={"train": defaultdict(list), "eval": defaultdict(list)},
        _total_train_tokens=0, _tp_size=1, args=SimpleNamespace(gradient_checkpointing_kwargs=None))
    inputs = {
        "input_ids": input_ids, "attention_mask": attention, "completion_mask": completion,
        "ref_chosen_logps": torch.tensor([sum(ref_c[r]) for r in pairs], dtype=torch.float64),
        "ref_rejected_logps": torch.tensor([sum(ref_r[r]) for r in pairs], dtype=torch.float64),
    }
    loss = DPOTrainer._compute_loss(stub, model, inputs, False)
    metrics = {k: v[-1] for k, v in stub._metrics["train"].items()
               if k.startswith("rewards/") or k.startswith("logps/")}
    return float(loss), metrics


cases = []
for name, types, weights, beta in [("dpo_beta0.1", ["sigmoid"], [1.0], 0.1),
                                   ("dpo_beta0.5", ["sigmoid"], [1.0], 0.5),
                                   ("rpo_beta0.1_alpha0.7", ["sigmoid", "sft"], [1.0, 0.7], 0.1),
                                   ("rpo_beta0.3_alpha1", ["sigmoid", "sft"], [1.0, 1.0], 0.3),
                                   ("sft", ["sft"], [1.0], 0.1)]:
    loss, metrics = trl_loss(list(range(B)), types, weights, beta, 0.0)
    cases.append({"name": name, "trl_loss_type": types, "trl_loss_weights": weights, "beta": beta,
                  "label_smoothing": 0.0, "pairs": list(range(B)), "loss": loss, "metrics": metrics})
for r in range(B):
    loss, metrics = trl_loss([r], ["aot"], [1.0], 0.2, 0.15)
    cases.append({"name": f"dpo_label_smoothing_pair{r}", "trl_loss_type": ["aot"], "trl_loss_weights": [1.0],
                  "beta": 0.2, "label_smoothing": 0.15, "pairs": [r], "loss": loss, "metrics": metrics})

fixture = {
    "generator": "tools/goldens/make_trl_loss_golden.py",
    "trl_version": trl.__version__, "torch_version": torch.__version__,
    "note": "per-token log-probs are response-aligned (column t = t-th response token); loss and metrics from "
            "trl.trainer.dpo_trainer.DPOTrainer._compute_loss",
    "policy_chosen": pol_c, "policy_rejected": pol_r, "reference_chosen": ref_c, "reference_rejected": ref_r,
    "cases": cases,
}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(fixture, f, indent=1)
print("wrote", os.path.normpath(OUT), "with", len(cases), "cases")
for c in cases:
    print(c["name"], c["loss"])
