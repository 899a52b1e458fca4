"""Writes toolkit/src/test/resources/goldens/selection_official.json: the answers the official cDPO selection
(chenzhiling9954/Critical-Tokens-Matter, src/pipeline.py Pipeline.select_data_for_sft_and_dpo, official config
sft_pos top-k 1, sft_neg top-p 0.5, dpo top-k 1) picks on random graded problems, for ctlab.task.Selection.

The official code shuffles and draws random samples, so only the selected ANSWERS are compared (which sample of an
answer group is drawn is random there and "first in input order" in ctlab). Problems are generated with distinct
group sizes within each polarity so no tie can make the official choice random.

The official code is not vendored: pass a checkout with --official-repo; only that method is taken (via ast).
Run: /work/pyref/bin/python tools/goldens/make_selection_official_golden.py --official-repo PATH
"""
import argparse
import ast
import contextlib
import io
import json
import math
import os
import random
import tempfile
from types import SimpleNamespace

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "toolkit", "src", "test", "resources", "goldens",
                   "selection_official.json")


def load_official(repo):
    path = os.path.join(repo, "src", "pipeline.py")
    tree = ast.parse(open(path).read())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Pipeline")
    fn = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "select_data_for_sft_and_dpo")
    scope = {"json": json, "math": math, "os": os, "random": random}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), path, "exec"), scope)
    return scope["select_data_for_sft_and_dpo"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--official-repo", required=True)
    select = load_official(ap.parse_args().official_repo)
    rng = random.Random(1129)
    problems = []
    for q in range(40):
        samples = []
        n_wrong = rng.randint(1, 6)
        n_right = rng.randint(0, 3)
        for polarity, n in ((False, n_wrong), (True, n_right)):
            for size in rng.sample(range(1, 9), n):  # distinct sizes within a polarity: no ties
                answer = f"{'r' if polarity else 'w'}{rng.randint(0, 10**6)}"
                samples += [[answer, polarity]] * size
        samples += [["", False]] * rng.randint(0, 3)  # no extracted answer
        rng.shuffle(samples)
        problems.append({"id": f"q{q}", "samples": samples})
    # every problem has an incorrect answer: the official code divides by the running count of such problems
    checked = {}
    for p in problems:
        checked[p["id"]] = {"question": p["id"], "answer": ["x"], "prompt": "P",
                            "generation_check": [[f"{a}|{i} ", a, c] for i, (a, c) in enumerate(p["samples"])]}
    with tempfile.TemporaryDirectory() as tmp:
        stub = SimpleNamespace(sft_data_path=os.path.join(tmp, "sft.json"), cdpo_data_path=os.path.join(tmp, "dpo.json"),
                               dataset_name="GSM8K")
        config = {"sft_pos": {"top-k": 1, "top-p": None}, "sft_neg": {"top-k": None, "top-p": 0.5},
                  "dpo": {"top-k": 1, "top-p": None}}
        random.seed(7)
        with contextlib.redirect_stdout(io.StringIO()):
            select(stub, checked, config)
        sft = json.load(open(stub.sft_data_path))
        dpo = json.load(open(stub.cdpo_data_path))
    answer = lambda text: text.split("|")[0]
    pairs = {}
    # recover each pair's problem from its chosen answer (answers are unique across problems)
    by_answer = {s[0]: p["id"] for p in problems for s in p["samples"] if s[0]}
    for c, r in zip(dpo["chosen"], dpo["rejected"]):
        pairs[by_answer[answer(c)]] = [answer(c), answer(r)]
    for p in problems:
        pid = p["id"]
        p["sft_positive"] = [answer(sft["pos"][pid]["response"])] if pid in sft["pos"] else []
        p["sft_negative"] = [answer(v["response"]) for k, v in sft["neg"].items() if k.rsplit("_", 1)[0] == pid]
        p["pair"] = pairs.get(pid)
    with open(OUT, "w") as f:
        json.dump({"generator": "tools/goldens/make_selection_official_golden.py (official select_data_for_sft_and_dpo)",
                   "problems": problems}, f)
    print("wrote", os.path.normpath(OUT), len(problems), "problems,", sum(len(p["sft_negative"]) for p in problems),
          "negatives,", len(pairs), "pairs")


if __name__ == "__main__":
    main()
