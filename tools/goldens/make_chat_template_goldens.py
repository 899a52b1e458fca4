#!/usr/bin/env python3
"""Golden fixtures for ctlab.model.ChatTemplate: the chat templates of the instruct families the project studies,
and transformers' renders of a few conversations with them.

Per family a folder with a minimal tokenizer_config.json (chat_template, bos_token, eos_token as the model's own
file has them), plus cases.json: for each family and conversation, the messages, add_generation_prompt, extra
template variables (tools= among them, where a case has tools), and the text `tokenizer.apply_chat_template(..., tokenize=False)` returned, or the error
message a template raised. The Java test renders the same and asserts byte-equal text.

Where each template comes from (the templates themselves are the models' tokenizer_config.json `chat_template`):
  llama3        meta-llama/Meta-Llama-3-8B-Instruct; the well-known one-line template, written out here.
  llama3.2      meta-llama/Llama-3.2-3B-Instruct; as copied into llama.cpp's models/templates/
                (meta-llama-Llama-3.2-3B-Instruct.jinja). It calls strftime_now unless date_string is passed:
                the cases pass date_string so the renders do not depend on the day.
  qwen2.5       Qwen/Qwen2.5-7B-Instruct (tools branch included), written out here; the same text is in many
                public training scripts.
  qwen2.5-math  Qwen/Qwen2.5-Math-7B-Instruct: the Qwen2.5 template with the math default system prompt.
  deepseek-math deepseek-ai/deepseek-math-7b-instruct ("User: ...\\n\\nAssistant:"), written out here.
  mistral-nemo  mistralai/Mistral-Nemo-Instruct-2407; as copied into llama.cpp's models/templates/ (namespace,
                selectattr, raise_exception on non-alternating roles).
  named-list    the list-of-named-templates form of chat_template ([{"name": ..., "template": ...}]), as
                tool-use models ship it; transformers renders the one named "default" (here: llama3's).

Rendering goes through a real tokenizer's apply_chat_template (the shipped organism-base tokenizer), with the
family's special tokens passed as keyword arguments (they override the tokenizer's own, as apply_chat_template
documents), so the renders come from transformers' own sandbox (trim_blocks, lstrip_blocks, its tojson,
raise_exception, namespace).

Run:  /work/pyref-h3/bin/python tools/goldens/make_chat_template_goldens.py [out_dir]
(default out_dir: toolkit/src/test/resources/chat-templates). CI never runs this; it uses the committed output.
"""
import json
import os
import sys

import jinja2
import transformers
from transformers import AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "toolkit/src/test/resources/chat-templates")

LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

LLAMA32 = r'''{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message #}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\n\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- '"parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
'''

QWEN25 = r'''{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'DEFAULT_SYSTEM' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nDEFAULT_SYSTEM<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
'''
QWEN25_INSTRUCT = QWEN25.replace("DEFAULT_SYSTEM", "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
# In a single-quoted Jinja string a backslash escapes the next character, as in Python: \\boxed renders as \boxed.
QWEN25_MATH = QWEN25.replace("DEFAULT_SYSTEM", "Please reason step by step, and put your final answer within \\\\boxed{}.")

DEEPSEEK_MATH = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{{ bos_token }}"
    "{% for message in messages %}{% if message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\n\n' }}"
    "{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' + message['content'] + eos_token }}"
    "{% elif message['role'] == 'system' %}{{ message['content'] + '\n\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)

MISTRAL_NEMO = r'''{%- if messages[0]["role"] == "system" %}
    {%- set system_message = messages[0]["content"] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}
{%- set user_messages = loop_messages | selectattr("role", "equalto", "user") | list %}

{#- This block checks for alternating user/assistant messages, skipping tool calling messages #}
{%- set ns = namespace() %}
{%- set ns.index = 0 %}
{%- for message in loop_messages %}
    {%- if not (message.role == "tool" or message.role == "tool_results" or (message.tool_calls is defined and message.tool_calls is not none)) %}
        {%- if (message["role"] == "user") != (ns.index % 2 == 0) %}
            {{- raise_exception("After the optional system message, conversation roles must alternate user/assistant/user/assistant/...") }}
        {%- endif %}
        {%- set ns.index = ns.index + 1 %}
    {%- endif %}
{%- endfor %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if message["role"] == "user" %}
        {%- if tools is not none and (message == user_messages[-1]) %}
            {{- "[AVAILABLE_TOOLS][" }}
            {%- for tool in tools %}
                {%- set tool = tool.function %}
                {{- '{"type": "function", "function": {' }}
                {%- for key, val in tool.items() if key != "return" %}
                    {%- if val is string %}
                        {{- '"' + key + '": "' + val + '"' }}
                    {%- else %}
                        {{- '"' + key + '": ' + val|tojson }}
                    {%- endif %}
                    {%- if not loop.last %}
                        {{- ", " }}
                    {%- endif %}
                {%- endfor %}
                {{- "}}" }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- else %}
                    {{- "]" }}
                {%- endif %}
            {%- endfor %}
            {{- "[/AVAILABLE_TOOLS]" }}
            {%- endif %}
        {%- if loop.last and system_message is defined %}
            {{- "[INST]" + system_message + "\n\n" + message["content"] + "[/INST]" }}
        {%- else %}
            {{- "[INST]" + message["content"] + "[/INST]" }}
        {%- endif %}
    {%- elif (message.tool_calls is defined and message.tool_calls is not none) %}
        {{- "[TOOL_CALLS][" }}
        {%- for tool_call in message.tool_calls %}
            {%- set out = tool_call.function|tojson %}
            {{- out[:-1] }}
            {%- if not tool_call.id is defined or tool_call.id|length != 9 %}
                {{- raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}
            {%- endif %}
            {{- ', "id": "' + tool_call.id + '"}' }}
            {%- if not loop.last %}
                {{- ", " }}
            {%- else %}
                {{- "]" + eos_token }}
            {%- endif %}
        {%- endfor %}
    {%- elif message["role"] == "assistant" %}
        {{- message["content"] + eos_token}}
    {%- elif message["role"] == "tool_results" or message["role"] == "tool" %}
        {%- if message.content is defined and message.content.content is defined %}
            {%- set content = message.content.content %}
        {%- else %}
            {%- set content = message.content %}
        {%- endif %}
        {{- '[TOOL_RESULTS]{"content": ' + content|string + ", " }}
        {%- if not message.tool_call_id is defined or message.tool_call_id|length != 9 %}
            {{- raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}
        {%- endif %}
        {{- '"call_id": "' + message.tool_call_id + '"}[/TOOL_RESULTS]' }}
    {%- else %}
        {{- raise_exception("Only user and assistant roles are supported, with the exception of an initial optional system message!") }}
    {%- endif %}
{%- endfor %}
'''

LLAMA_TOKENS = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
# Each family: (chat_template as tokenizer_config.json holds it, special tokens as the model's config has them)
FAMILIES = {
    "llama3": (LLAMA3, LLAMA_TOKENS),
    "llama3.2": (LLAMA32, LLAMA_TOKENS),
    "qwen2.5": (QWEN25_INSTRUCT, {"bos_token": None, "eos_token": "<|im_end|>"}),
    "qwen2.5-math": (QWEN25_MATH, {"bos_token": None, "eos_token": "<|im_end|>"}),
    # deepseek's config stores the tokens in the AddedToken form; ChatTemplate reads both forms
    "deepseek-math": (DEEPSEEK_MATH, {
        "bos_token": {"__type": "AddedToken", "content": "<｜begin▁of▁sentence｜>", "lstrip": False,
                      "normalized": True, "rstrip": False, "single_word": False},
        "eos_token": {"__type": "AddedToken", "content": "<｜end▁of▁sentence｜>", "lstrip": False,
                      "normalized": True, "rstrip": False, "single_word": False}}),
    "mistral-nemo": (MISTRAL_NEMO, {"bos_token": "<s>", "eos_token": "</s>"}),
    "named-list": ([{"name": "default", "template": LLAMA3},
                    {"name": "tool_use", "template": "{{ raise_exception('not the default template') }}"}],
                   LLAMA_TOKENS),
}

QUESTION = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. " \
           "How many clips did Natalia sell altogether in April and May?"
# leading/trailing blanks (|trim), quotes, braces, a backslash and non-ASCII text
TRICKY = "  Solve $x^2 = 4$ for \"x\" — it's {easy}: \\boxed{2}?\n\n"
SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."
CONVERSATIONS = [
    ("system_user", [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}], True),
    ("user_only", [{"role": "user", "content": QUESTION}], True),
    ("user_only_no_generation_prompt", [{"role": "user", "content": QUESTION}], False),
    ("multi_turn", [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "What is 2 + 3?"},
                    {"role": "assistant", "content": "2 + 3 = 5. The answer is \\boxed{5}."},
                    {"role": "user", "content": TRICKY}], True),
    ("multi_turn_closed", [{"role": "user", "content": TRICKY}, {"role": "assistant", "content": "x = ±2 ✓"}], False),
    # blanks Python's str.strip (Jinja's |trim) removes and Java's String.trim does not, and the reverse (\x01)
    ("unicode_blanks", [{"role": "user", "content": "\u00a0\u3000 x = 1\u2003\x85\n"},
                        {"role": "assistant", "content": "\x01ok\u202f"}], False),
    ("roles_not_alternating", [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], True),
]
EXTRA_VARS = {"llama3.2": {"date_string": "26 Jul 2024"}}
# A tool schema (JSON-schema form, as apply_chat_template's tools=) for the families whose templates print tools
# with tojson: nested objects, a list, an integer, a float, a boolean, quotes and non-ASCII text.
TOOLS = [{"type": "function", "function": {
    "name": "calculator", "description": "Évalue an arithmetic expression, e.g. \"2 + 3\"",
    "parameters": {"type": "object", "properties": {
        "expression": {"type": "string", "description": "the expression"},
        "precision": {"type": "integer", "default": 2, "minimum": 0.5, "exclusiveMinimum": False}},
        "required": ["expression"]}}}]
TOOL_FAMILIES = ["llama3.2", "qwen2.5", "mistral-nemo"]


def token_text(value):
    return value["content"] if isinstance(value, dict) else value


def default_template(chat_template):
    if isinstance(chat_template, list):  # transformers picks the one named "default"
        return next(t["template"] for t in chat_template if t["name"] == "default")
    return chat_template


def main():
    tok = AutoTokenizer.from_pretrained(os.path.join(ROOT, "models/organism-base"))
    cases = {}
    for family, (template, tokens) in FAMILIES.items():
        folder = os.path.join(OUT, family)
        os.makedirs(folder, exist_ok=True)
        config = {**tokens, "chat_template": template}
        with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False, indent=2)
            f.write("\n")
        special = {k: token_text(v) for k, v in tokens.items()}
        extra = EXTRA_VARS.get(family, {})
        rows = []
        for name, messages, add_generation_prompt in CONVERSATIONS:
            row = {"name": name, "messages": messages, "add_generation_prompt": add_generation_prompt, "vars": extra}
            try:
                row["expected"] = tok.apply_chat_template(
                    messages, chat_template=default_template(template), tokenize=False,
                    add_generation_prompt=add_generation_prompt, **special, **extra)
            except jinja2.exceptions.TemplateError as e:
                row["error"] = str(e)
            rows.append(row)
        if family in TOOL_FAMILIES:
            messages = CONVERSATIONS[0][1]
            vars_ = {**extra, "tools": TOOLS}
            row = {"name": "system_user_tools", "messages": messages, "add_generation_prompt": True, "vars": vars_}
            row["expected"] = tok.apply_chat_template(messages, tools=TOOLS, chat_template=default_template(template),
                                                      tokenize=False, add_generation_prompt=True, **special, **extra)
            rows.append(row)
        cases[family] = rows
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"transformers": transformers.__version__, "jinja2": jinja2.__version__, "cases": cases},
                  f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", OUT, {k: len(v) for k, v in cases.items()})


if __name__ == "__main__":
    main()
