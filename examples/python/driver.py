"""Drives one ForelockClient from JSON lines on stdin, answering on stdout: how the tests run this example (the
client conformance suite and the cluster test in test/integration/). One request per line, each run on its own
thread so that a blocked acquire does not hold up the next line:

  {"id": 1, "op": "connect", "endpoints": ["127.0.0.1:7400"], "name": "py", "ttl_ms": 10000,
   "warning_answer": "ACK", "honour_preemption": true}
  {"id": 2, "op": "acquire", "name": "orders/42", "wait_ms": 0, "fenced": true}
  {"id": 3, "op": "release", "name": "orders/42"}
  {"id": 4, "op": "state"}
  {"id": 5, "op": "close"}

Each gets {"id": N, "ok": true, ...} or {"id": N, "ok": false, "code": "...", "message": "..."}. Events arrive as
{"event": "warning" | "preemption" | "resumed" | "released", ...}.
"""

import json
import sys
import threading

from forelock_client import ForelockClient, ForelockError

out_lock = threading.Lock()
client = None


def say(message):
    with out_lock:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def connect(request):
    global client
    answer = request.get("warning_answer", "ACK")
    honour = request.get("honour_preemption", True)

    def on_warning(warning):
        say({"event": "warning", "name": warning.resource_id, "warning_id": warning.warning_id, "answer": answer})
        return answer

    def on_preemption(preemption):
        say({"event": "preemption", "name": preemption.resource_id, "token": str(preemption.token)})
        grant = client.held.get(preemption.resource_id)
        if honour and grant is not None and grant.token == preemption.token:
            client.release(grant)
            say({"event": "released", "name": grant.name, "token": str(grant.token)})

    client = ForelockClient(request["endpoints"], client_name=request.get("name", "python"),
                            ttl_ms=request.get("ttl_ms", 10_000), on_warning=on_warning,
                            on_preemption=on_preemption,
                            on_resumed=lambda address: say({"event": "resumed", "connected_to": address}))
    client.connect(request.get("timeout_s", 10.0))
    return {"session_id": client.session_id, "connected_to": client.connected_to}


def acquire(request):
    grant = client.acquire(request["name"], wait_ms=request.get("wait_ms", 0), fenced=request.get("fenced", False),
                           never_preempt=request.get("never_preempt", False))
    return {"name": grant.name, "token": str(grant.token)}


def release(request):
    grant = client.held.get(request["name"])
    if grant is None:
        raise ForelockError("NOT_HELD", f'this client does not hold "{request["name"]}"')
    client.release(grant)
    return {}


def state(request):
    return {"session_id": client.session_id, "connected_to": client.connected_to, "safe": client.is_safe(),
            "held": {name: str(grant.token) for name, grant in client.held.items()}}


def close(request):
    return {"reason": client.close()}


OPS = {"connect": connect, "acquire": acquire, "release": release, "state": state, "close": close}


def run(request):
    try:
        say({"id": request["id"], "ok": True, **OPS[request["op"]](request)})
    except ForelockError as error:
        say({"id": request["id"], "ok": False, "code": error.code, "message": error.message})
    except Exception as error:  # a bad line or a bug: report it rather than hang the test
        say({"id": request.get("id"), "ok": False, "code": "DRIVER_ERROR", "message": repr(error)})


if __name__ == "__main__":
    say({"event": "ready"})
    for line in sys.stdin:
        if line.strip():
            threading.Thread(target=run, args=(json.loads(line),), daemon=True).start()
