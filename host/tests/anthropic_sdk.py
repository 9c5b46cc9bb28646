"""The official `anthropic` Python SDK against Switchyard (run by host/tests/anthropic.rs).

Environment: SWITCHYARD_URL (the gateway), and the model ids the gateway serves from each mock
scenario: MODEL_TEXT (Anthropic-native, text), MODEL_TOOL (Anthropic-native, a streamed tool use),
MODEL_THINK (Anthropic-native, thinking with a signature), MODEL_STOP (Anthropic-native, cut by the
stop sequence "Is there", with cache reads and writes), MODEL_CITE (Anthropic-native, text blocks
citing documents), MODEL_OPENAI_TEXT and MODEL_OPENAI_TOOL
(OpenAI-compatible upstreams), MODEL_RATE_LIMITED (answers 429), MODEL_CUT (a stream cut after its
first text). Prints one line per check and exits non-zero on the first failure.
"""

import os
import sys

import anthropic

URL = os.environ["SWITCHYARD_URL"]
client = anthropic.Anthropic(base_url=URL, api_key="sk-test", max_retries=0, timeout=30)
HELLO = [{"role": "user", "content": "Hello!"}]
WEATHER = [
    {
        "name": "weather",
        "description": "The weather in a city",
        "input_schema": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    }
]


def check(name, condition, detail=""):
    if not condition:
        print(f"FAILED {name}: {detail}", flush=True)
        sys.exit(1)
    print(f"ok {name}", flush=True)


def create(model):
    message = client.messages.create(model=model, max_tokens=256, system="Be brief.", messages=HELLO)
    text = "".join(block.text for block in message.content if block.type == "text")
    check(f"create {model}: text", text != "", message)
    check(f"create {model}: stop_reason", message.stop_reason == "end_turn", message.stop_reason)
    check(f"create {model}: usage", message.usage.input_tokens > 0 and message.usage.output_tokens > 0, message.usage)
    return message


def stream_text(model):
    pieces = []
    with client.messages.stream(model=model, max_tokens=256, messages=HELLO) as stream:
        for text in stream.text_stream:
            pieces.append(text)
        final = stream.get_final_message()
    check(f"stream {model}: several deltas", len(pieces) > 1, pieces)
    check(f"stream {model}: final text", final.content[0].text == "".join(pieces), final)
    check(f"stream {model}: usage", final.usage.output_tokens > 0, final.usage)
    return final


def stream_tool(model, expected_input):
    deltas = 0
    with client.messages.stream(model=model, max_tokens=256, messages=[{"role": "user", "content": "Weather in SF?"}], tools=WEATHER) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                deltas += 1
        final = stream.get_final_message()
    check(f"tool {model}: input_json_delta events", deltas > 0, deltas)
    uses = [block for block in final.content if block.type == "tool_use"]
    check(f"tool {model}: tool_use block", len(uses) == 1 and uses[0].name == "weather", final.content)
    check(f"tool {model}: input", uses[0].input == expected_input, uses[0].input)
    check(f"tool {model}: id charset", all(c.isalnum() or c in "_-" for c in uses[0].id), uses[0].id)
    check(f"tool {model}: stop_reason", final.stop_reason == "tool_use", final.stop_reason)
    return uses[0]


def thinking(model):
    with client.messages.stream(model=model, max_tokens=4096, thinking={"type": "enabled", "budget_tokens": 2048}, messages=HELLO) as stream:
        final = stream.get_final_message()
    blocks = [block for block in final.content if block.type == "thinking"]
    check("thinking: block", len(blocks) == 1 and blocks[0].thinking != "", final.content)
    check("thinking: signature", blocks[0].signature != "", blocks[0])
    # The next turn sends the signed thinking back; the Rust side checks the upstream got it.
    history = HELLO + [{"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in final.content]}]
    history.append({"role": "user", "content": "And then?"})
    client.messages.create(model=model, max_tokens=4096, thinking={"type": "enabled", "budget_tokens": 2048}, messages=history)
    check("thinking: next turn accepted", True)
    return blocks[0].signature


def betas_stop_sequence_and_cache(model):
    """The beta API (the Rust side checks the upstream got the betas), the matched stop sequence
    and the cached-token usage, whole and streamed."""
    betas = ["token-efficient-tools-2025-02-19", "interleaved-thinking-2025-05-14"]
    asked = dict(model=model, max_tokens=256, messages=HELLO, stop_sequences=["Is there"], betas=betas)
    message = client.beta.messages.create(**asked)
    with client.beta.messages.stream(**asked) as stream:
        final = stream.get_final_message()
    for kind, answer in [("create", message), ("stream", final)]:
        check(f"{kind}: stop_reason", answer.stop_reason == "stop_sequence", answer.stop_reason)
        check(f"{kind}: stop_sequence", answer.stop_sequence == "Is there", answer.stop_sequence)
        usage = answer.usage
        cached = (usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens)
        check(f"{kind}: cached usage", cached == (12, 2048, 1500), usage)


def citations(model):
    """Citations of a plain-text document, whole and streamed, on the text blocks they cite."""
    document = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "The grass is green. The sky is blue."},
        "title": "Colors",
        "citations": {"enabled": True},
    }
    asked = dict(model=model, max_tokens=256, messages=[{"role": "user", "content": [document, {"type": "text", "text": "Colours?"}]}])
    message = client.messages.create(**asked)
    cited_deltas = 0
    with client.messages.stream(**asked) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "citations_delta":
                cited_deltas += 1
        final = stream.get_final_message()
    check("stream: citations_delta events", cited_deltas == 3, cited_deltas)
    for kind, answer in [("create", message), ("stream", final)]:
        texts = [block.text for block in answer.content]
        check(f"{kind}: cited text blocks", texts[1] == "the grass is green" and texts[3] == "the sky is blue", texts)
        cited = [[citation.type for citation in block.citations or []] for block in answer.content]
        check(f"{kind}: citations on their blocks", cited == [[], ["char_location"], [], ["char_location", "page_location"], []], cited)
        first = answer.content[1].citations[0]
        check(f"{kind}: citation fields", (first.start_char_index, first.end_char_index, first.document_title) == (0, 20, "Colors"), first)


def errors():
    try:
        client.messages.create(model=os.environ["MODEL_RATE_LIMITED"], max_tokens=10, messages=HELLO)
        check("429", False, "no error")
    except anthropic.RateLimitError as error:
        check("429: RateLimitError", error.status_code == 429 and error.body["error"]["type"] == "rate_limit_error", error.body)
    try:
        client.messages.create(model="no/such-model", max_tokens=10, messages=HELLO)
        check("404", False, "no error")
    except anthropic.NotFoundError as error:
        check("404: NotFoundError", error.body["type"] == "error", error.body)
    try:
        client.messages.create(model=os.environ["MODEL_TEXT"], max_tokens=10, messages=[])
        check("400", False, "no error")
    except anthropic.BadRequestError as error:
        check("400: BadRequestError", error.body["error"]["type"] == "invalid_request_error", error.body)
    try:
        with client.messages.stream(model=os.environ["MODEL_CUT"], max_tokens=10, messages=HELLO) as stream:
            for _ in stream:
                pass
        check("mid-stream error", False, "the cut stream ended normally")
    except anthropic.APIStatusError as error:
        check("mid-stream error: raised", error.body["error"]["type"] == "api_error", error.body)


create(os.environ["MODEL_TEXT"])
create(os.environ["MODEL_OPENAI_TEXT"])
stream_text(os.environ["MODEL_TEXT"])
stream_text(os.environ["MODEL_OPENAI_TEXT"])
stream_tool(os.environ["MODEL_TOOL"], {"location": "San Francisco"})
stream_tool(os.environ["MODEL_OPENAI_TOOL"], {"location": "San Francisco"})
thinking(os.environ["MODEL_THINK"])
betas_stop_sequence_and_cache(os.environ["MODEL_STOP"])
citations(os.environ["MODEL_CITE"])
count = client.messages.count_tokens(model=os.environ["MODEL_TEXT"], messages=HELLO, system="Be brief.")
check("count_tokens", count.input_tokens > 0, count)
ids = [model.id for model in client.models.list(limit=1000)]
check("models.list", os.environ["MODEL_OPENAI_TEXT"] in ids, ids)
errors()
print("all checks passed", flush=True)
