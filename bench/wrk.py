"""Load from wrk (Debian's ``wrk``, a compiled load generator): one thread, N keep-alive connections,
a fixed duration. A Lua script sends either one fixed request or, for verification, the next body of
a file (one distinct request per line, never one twice) and checks every answer; its ``done`` hook
prints one JSON line with the counts and the latency percentiles.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MISSING = "skipped: wrk missing"

SCRIPT = r"""
local method, path, bodies, expect = "GET", "/", {}, nil
sent, bad = 0, 0  -- globals: done() reads them from each thread

function setup(thread)
  threads = threads or {}
  table.insert(threads, thread)
end

function init(args)
  method, path, expect = args[1], args[2], args[4]
  if args[3] ~= nil and args[3] ~= "" then
    for line in io.lines(args[3]) do bodies[#bodies + 1] = line end
  end
  if expect == "" then expect = nil end
end

function request()
  sent = sent + 1
  if #bodies == 0 then
    return wrk.format(method, path)
  end
  -- past the last body, send the first again: the caller sees sent > bodies and refuses the run
  local body = bodies[(sent - 1) % #bodies + 1]
  return wrk.format(method, path, {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status ~= 200 or (expect ~= nil and not string.find(body, expect, 1, true)) then
    if bad == 0 then io.stderr:write("first failed answer: ", status, " ", string.sub(body, 1, 3000), "\n") end
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total_sent, total_bad = 0, 0
  for _, thread in ipairs(threads) do
    total_sent = total_sent + thread:get("sent")
    total_bad = total_bad + thread:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "sent": %d, "bad": %d, ' ..
    '"socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), total_sent, total_bad,
    e.connect + e.read + e.write + e.timeout))
end
"""


class LoadError(RuntimeError):
    """A load run that must not become a number (failed answers, socket errors)."""


class BodiesExhausted(LoadError):
    """wrk sent more requests than there were distinct bodies: the run is void, give it more."""


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds


def available() -> bool:
    return shutil.which("wrk") is not None


def run(url: str, *, workdir: Path, seconds: float, connections: int, method: str = "GET", path: str = "/",
        bodies: list[str] | None = None, expect: str = "") -> Load:
    """Load ``url + path`` for ``seconds``; every answer must be a 200 (containing ``expect`` if given)."""
    script = workdir / "load.lua"
    script.write_text(SCRIPT, "utf-8")
    body_file = ""
    if bodies:
        body_file = str(workdir / "bodies.txt")
        Path(body_file).write_text("\n".join(bodies) + "\n", "utf-8")
    command = ["wrk", "--threads", "1", "--connections", str(connections), "--duration", f"{max(1, round(seconds))}s",
               "--timeout", "10s", "--script", str(script), url, "--", method, path, body_file, expect]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("WRK ")]
    if done.returncode != 0 or not lines:
        raise LoadError(f"wrk failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    result = json.loads(lines[-1][4:])
    if bodies and result["sent"] > len(bodies):
        raise BodiesExhausted(f"{method} {path}: {result['sent']} requests for {len(bodies)} distinct bodies")
    if result["bad"] or result["socket_errors"]:
        raise LoadError(f"{method} {path}: {result['bad']} failed answers, {result['socket_errors']} socket errors; "
                        f"{done.stderr[-500:]}")
    if result["requests"] == 0:
        raise LoadError(f"{method} {path}: no request completed")
    return Load(result["requests"], result["duration_us"] / 1e6, result["p50_us"] / 1000, result["p99_us"] / 1000)
