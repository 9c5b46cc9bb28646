"""A Switchyard routing policy written in Python, built into a WebAssembly component with
componentize-py 0.25.1 (`pip install componentize-py==0.25.1`) against the frozen contract
0.1.0, so the gateway's support of older plugins is tested too. From the repository root:

    componentize-py -d wit/v0.1.0 -w switchyard:plugin/router@0.1.0 componentize app \
        -p tests/plugins/python-policy -o python-reverse.wasm

Policy `python-reverse`: try the candidates in reverse order, last first. It is deterministic
and observably different from the default `price` policy, so an end-to-end test can tell that
this component chose the order (host/tests/python_plugin.rs).
"""

from typing import List

from wit_world import exports
from wit_world.exports import policy


class Policy(exports.Policy):
    def describe(self) -> policy.Descriptor:
        return policy.Descriptor(name="python-reverse", version="0.1.0")

    def order(
        self, request: policy.RequestSummary, candidates: List[policy.Candidate]
    ) -> List[int]:
        return list(reversed(range(len(candidates))))
