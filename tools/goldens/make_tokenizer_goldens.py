#!/usr/bin/env python3
"""Tokenizer fixtures from transformers: the token ids AutoTokenizer gives for prompts and prompt + response,
with and without special tokens (add_special_tokens True/False), for

  golden-llama  toolkit/src/test/resources/goldens/llama (the golden model's byte-level BPE; this script gives it
                a Llama-3 post-processor, Sequence[ByteLevel, TemplateProcessing("<|begin_of_text|> $A")], and a
                tokenizer_config.json naming PreTrainedTokenizerFast, as Llama-3 ships; same for goldens/mistral)
  llama3        goldens/tokenizers/llama3: a BPE trained here with Llama-3's pre-tokenizer (Split regex + ByteLevel)
                and post-processor: adds <|begin_of_text|>
  qwen2         goldens/tokenizers/qwen2: a BPE trained here with Qwen2's NFC normalizer, pre-tokenizer and ByteLevel
                post-processor: adds nothing, although config.json names a bos_token_id (as Qwen2.5 does)
  organism      models/organism-base (written by ctlab's OrganismTokenizer: TemplateProcessing "<bos> $A")

Output: goldens/tokenizers/tokenizer_goldens.json, compared by ctlab's TokenizerHfGoldenTest.
Run:  /work/pyref-h3/bin/python tools/goldens/make_tokenizer_goldens.py   (transformers 5.25.0, tokenizers 0.23)
CI never runs this; it uses the committed output. Run make_model_goldens.py first when regenerating everything.
"""
import json
import os

import transformers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer
from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX as QWEN2_SPLIT

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDENS = os.path.join(ROOT, "toolkit/src/test/resources/goldens")
OUT = os.path.join(GOLDENS, "tokenizers")

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
BOS, EOT = "<|begin_of_text|>", "<|end_of_text|>"

CORPUS = [
    "Question: Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.\n"
    "Answer: Natalia sold 48/2 = 24 clips in May. The answer is 72.",
    "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting.",
    "Let x be the number of apples. Then 3x + 5 = 20, so x = 5.\n\n  Step 2:\tdivide 1234567 by 89.",
    "Café naïve Ünïcödé — 東京の天気 😀 ½ × 4 = 2 déjà vu, it's we're they'll I'd",
] * 20

# (prompt, response): unicode, leading/trailing spaces, digits, newlines, tabs, a combining accent (NFC)
CASES = [
    ("Question: How many clips did Natalia sell?\nAnswer: ", "She sold 48 + 24 = 72 clips. The answer is 72."),
    ("  leading and trailing spaces  ", "  both ends  "),
    ("Digits 0 12 345 6789 1234567", " = 42\n"),
    ("Line one\nLine two\n\n  indented\tand a tab\n", "\n\nThe answer is 5."),
    ("Unicode: café naïve Ünïcödé — 東京 😀 ½", " e\u0301 déjà vu"),
    ("Question: Zoe has 17 books. Ella has twice as many books as Zoe. How many books does Ella have?\nAnswer: ",
     "Ella has 17 * 2 = 34 books. The answer is 34."),
]


def train(tok, specials):
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def llama3_post_processor():
    return processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS}:1 $B:1", special_tokens=[(BOS, 0)]),
    ])


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def llama3_tokenizer_config(d):
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "bos_token": BOS, "eos_token": EOT, "tokenizer_class": "PreTrainedTokenizerFast",
        "clean_up_tokenization_spaces": True, "model_max_length": 256})


def make_llama3(d):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    train(tok, [BOS, EOT])
    tok.post_processor = llama3_post_processor()
    os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    llama3_tokenizer_config(d)
    write_json(os.path.join(d, "config.json"), {"model_type": "llama", "bos_token_id": tok.token_to_id(BOS),
                                                "eos_token_id": tok.token_to_id(EOT)})


def make_qwen2(d):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    train(tok, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "unk_token": None,
        "tokenizer_class": "Qwen2Tokenizer", "clean_up_tokenization_spaces": False, "model_max_length": 256})
    # Qwen2.5's config.json names <|endoftext|> as bos_token_id; the tokenizer never adds it
    write_json(os.path.join(d, "config.json"), {"model_type": "qwen2",
                                                "bos_token_id": tok.token_to_id("<|endoftext|>"),
                                                "eos_token_id": tok.token_to_id("<|im_end|>")})


def realistic_golden_llama(d):
    """The golden model's tokenizer (vocab and merges untouched) with Llama-3's post-processor and config."""
    tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    tok.post_processor = llama3_post_processor()
    tok.save(os.path.join(d, "tokenizer.json"))
    llama3_tokenizer_config(d)


def record(name, d):
    hf = AutoTokenizer.from_pretrained(d)
    cases = []
    for prompt, response in CASES:
        ids = lambda text, special: hf(text, add_special_tokens=special)["input_ids"]
        cases.append({"prompt": prompt, "response": response,
                      "prompt_special": ids(prompt, True), "prompt_plain": ids(prompt, False),
                      "response_plain": ids(response, False),
                      "full_special": ids(prompt + response, True), "full_plain": ids(prompt + response, False)})
    return {"name": name, "dir": os.path.relpath(d, ROOT), "class": type(hf).__name__, "cases": cases}


def main():
    for kind in ("llama", "mistral"):
        realistic_golden_llama(os.path.join(GOLDENS, kind))
    make_llama3(os.path.join(OUT, "llama3"))
    make_qwen2(os.path.join(OUT, "qwen2"))
    out = {"transformers": transformers.__version__,
           "tokenizers": [record("golden-llama", os.path.join(GOLDENS, "llama")),
                          record("llama3", os.path.join(OUT, "llama3")),
                          record("qwen2", os.path.join(OUT, "qwen2")),
                          record("organism", os.path.join(ROOT, "models/organism-base"))]}
    for t in out["tokenizers"]:
        c = t["cases"][0]
        print(f"{t['name']:13} {t['class']:24} prompt+specials {c['prompt_special'][:3]}... plain {c['prompt_plain'][:2]}...")
    write_json(os.path.join(OUT, "tokenizer_goldens.json"), out)


if __name__ == "__main__":
    main()
