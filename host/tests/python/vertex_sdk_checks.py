"""Checks run by host/tests/vertex.rs against a live gateway serving Gemini (v/gemini) and Claude
(v/claude) on Vertex AI: the `openai` SDK in strict response validation mode and the `anthropic`
SDK, whole and streamed, before and after the gateway's access token expires (3 s).

Usage: python vertex_sdk_checks.py <gateway_url>; exits non-zero on the first failure.
"""

import sys
import time

import anthropic
import openai

URL = sys.argv[1]
oai = openai.OpenAI(base_url=URL + "/v1", api_key="sk-test", _strict_response_validation=True)
claude = anthropic.Anthropic(base_url=URL, api_key="sk-test")
EXPECTED = {"v/gemini": "There are **3**", "v/claude": "Hello!"}


def openai_checks(model):
    whole = oai.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Hello"}], max_tokens=50
    )
    assert whole.choices[0].message.content.startswith(EXPECTED[model]), whole
    assert whole.choices[0].finish_reason == "stop", whole.choices[0].finish_reason
    assert whole.usage.prompt_tokens > 0 and whole.usage.completion_tokens > 0, whole.usage
    chunks = list(
        oai.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Hello"}],
            max_tokens=50,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith(EXPECTED[model]), text[:80]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0, chunks[-1]


def anthropic_checks(model):
    message = claude.messages.create(
        model=model, max_tokens=50, messages=[{"role": "user", "content": "Hello"}]
    )
    text = "".join(block.text for block in message.content if block.type == "text")
    assert text.startswith(EXPECTED[model]), message
    assert message.stop_reason == "end_turn", message.stop_reason
    with claude.messages.stream(
        model=model, max_tokens=50, messages=[{"role": "user", "content": "Hello"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text.startswith(EXPECTED[model]), text[:80]
    assert final.usage.output_tokens > 0, final.usage


for phase in range(2):
    for model in ("v/gemini", "v/claude"):
        openai_checks(model)
        anthropic_checks(model)
    if phase == 0:
        time.sleep(3.5)  # the gateway's first token expires
print("ok")
