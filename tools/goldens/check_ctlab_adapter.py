#!/usr/bin/env python3
"""Checks that a LoRA adapter saved by ctlab loads in PEFT and gives the logits ctlab computed.

Usage: /work/pyref/bin/python tools/goldens/check_ctlab_adapter.py BASE_MODEL_DIR ADAPTER_DIR
ADAPTER_DIR holds adapter_config.json + adapter_model.safetensors written by ctlab.model.Lora#save and
ctlab_logits.safetensors (input_ids, attention_mask, logits) written by
tools/goldens/export_ctlab_adapter.sh ADAPTER_DIR.
Exit status 0 when PEFT's logits match ctlab's to <= 1e-4 on real (unpadded) positions.
"""
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def main(base_dir, adapter_dir):
    ref = load_file(f"{adapter_dir}/ctlab_logits.safetensors")
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, adapter_dir)
    model.eval()
    ids, mask = ref["input_ids"], ref["attention_mask"]
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits.float()
    real = mask.unsqueeze(-1).float()
    err = ((logits - ref["logits"]) * real).abs().max().item()
    n_lora = sum(1 for n, _ in model.named_parameters() if "lora_" in n)
    with torch.no_grad():
        base_logits = model.get_base_model()(input_ids=ids, attention_mask=mask).logits
    with model.disable_adapter(), torch.no_grad():
        plain = model(input_ids=ids, attention_mask=mask).logits
    effect = ((logits - plain) * real).abs().max().item()
    print(f"PEFT loaded {n_lora} LoRA tensors; max abs err vs ctlab = {err:.3g}; adapter effect = {effect:.3g}")
    ok = err <= 1e-4 and effect > 1e-3
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
