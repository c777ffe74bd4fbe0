"""The interop suite's peers as a library: the Node runner of the peer scripts and the outcome of
every pair (filled in by conftest.py, read by the README table test)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests.interop.pairs import HERE

OUTCOMES: dict[str, str] = {}


class Node:
    """Runs one peer script: a JSON request on stdin, the JSON answer from stdout."""

    def __init__(self, executable: str) -> None:
        self.executable = executable

    def __call__(self, script: str, command: str, request: dict[str, Any], *, expect_ok: bool = True) -> dict[str, Any]:
        done = subprocess.run([self.executable, str(HERE / "peers" / script), command], input=json.dumps(request),
                              capture_output=True, text=True, timeout=120, cwd=HERE)
        assert done.stdout, f"{script} {command} printed nothing: {done.stderr[-2000:]}"
        answer: dict[str, Any] = json.loads(done.stdout)
        if expect_ok:
            assert answer.get("ok"), f"{script} {command}: {answer.get('error')} {done.stderr[-1000:]}"
        return answer
