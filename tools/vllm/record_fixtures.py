"""Record real vLLM responses for OpenAiCompletionsTest (toolkit/src/test/resources/ctlab/sample/remote/).

    tools/vllm/serve.sh models/organism-base PORT            # then:
    python3 tools/vllm/record_fixtures.py http://127.0.0.1:PORT PROMPTS.json OUT_DIR

PROMPTS.json: a JSON list of prompt id lists (organism prompts, BOS first). Bodies are stored byte for byte.
"""
import json, sys, urllib.request, urllib.error

base, prompts, out = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]

def call(path, body=None):
    req = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

def save(name, path, body=None):
    status, data = call(path, body)
    open(f"{out}/{name}", "wb").write(data)
    print(name, status, len(data))

model = json.loads(call("/v1/models")[1])["data"][0]["id"]
common = dict(model=model, logprobs=0, return_token_ids=True, return_tokens_as_token_ids=True,
              skip_special_tokens=True, include_stop_str_in_output=False, top_p=0.95, top_k=-1)
save("vllm-models.json", "/v1/models")
save("vllm-version.json", "/version")
# stop on answers starting with 1 (a stop string that fires on some samples; the rest end with EOS)
save("vllm-completion.json", "/v1/completions",
     dict(common, prompt=prompts[0], n=8, temperature=1.0, max_tokens=64, stop=[" The answer is 1"]))
save("vllm-completion-length.json", "/v1/completions",
     dict(common, prompt=prompts[1], n=2, temperature=1.0, max_tokens=6, stop=[]))
save("vllm-error-400.json", "/v1/completions", dict(common, prompt=prompts[0], n=1, max_tokens=100000))
# vllm-error-500.json: kill -9 the server's "VLLM::Worker" process, then send any completions request; the
# API server answers 500 ("EngineCore encountered an issue") once and shuts down. Recorded by hand that way.
