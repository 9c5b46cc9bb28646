"""Checks run by host/tests/capabilities.rs: streams the gateway makes from the whole answers of an
adapter that cannot stream, read by the official SDKs. `openai` validates strictly (every chunk
and event must match its types); `anthropic` reads `/v1/messages` events.

Environment: SWITCHYARD_URL (the gateway), MODEL (served by the adapter that cannot stream), TEXT
(its answer). Prints one line per check and exits non-zero on the first failure.
"""

import os
import sys

import anthropic
import openai

URL = os.environ["SWITCHYARD_URL"]
MODEL = os.environ["MODEL"]
TEXT = os.environ["TEXT"]
HELLO = [{"role": "user", "content": "Hello!"}]


def check(name, condition, detail=""):
    if not condition:
        print(f"FAILED {name}: {detail}", flush=True)
        sys.exit(1)
    print(f"ok {name}", flush=True)


strict = openai.OpenAI(base_url=f"{URL}/v1", api_key="sk-test", max_retries=0,
                       _strict_response_validation=True)

chunks = list(strict.chat.completions.create(model=MODEL, messages=HELLO, stream=True,
                                             stream_options={"include_usage": True}))
text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
check("chat stream: text", text == TEXT, text)
finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
check("chat stream: one finish reason", finishes == ["stop"], finishes)
usage = chunks[-1].usage
check("chat stream: usage last", usage is not None and usage.prompt_tokens == 9
      and usage.completion_tokens == 9, usage)
check("chat stream: one id", len({c.id for c in chunks}) == 1, {c.id for c in chunks})

events = list(strict.responses.create(model=MODEL, input="Hello!", stream=True))
kinds = [event.type for event in events]
check("responses stream: lifecycle", kinds[0] == "response.created" and kinds[-1] == "response.completed", kinds)
deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
check("responses stream: text", deltas == TEXT and events[-1].response.output_text == TEXT, deltas)
check("responses stream: usage", events[-1].response.usage.output_tokens == 9, events[-1].response.usage)

claude = anthropic.Anthropic(base_url=URL, api_key="sk-test", max_retries=0, timeout=30)
with claude.messages.stream(model=MODEL, max_tokens=256, messages=HELLO) as stream:
    streamed = "".join(stream.text_stream)
    message = stream.get_final_message()
check("messages stream: text", streamed == TEXT, streamed)
check("messages stream: stop_reason", message.stop_reason == "end_turn", message.stop_reason)
check("messages stream: usage", message.usage.input_tokens == 9 and message.usage.output_tokens == 9,
      message.usage)
raw = [event.type for event in claude.messages.create(model=MODEL, max_tokens=256, messages=HELLO,
                                                       stream=True)]
check("messages stream: events", raw[0] == "message_start" and raw[-1] == "message_stop"
      and "content_block_delta" in raw, raw)

print("all checks passed", flush=True)
