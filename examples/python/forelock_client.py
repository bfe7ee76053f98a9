"""A small Forelock client in Python, written from proto/forelock/v1/forelock.proto and docs/protocol.md alone.

It keeps one session on one `Forelock.Session` stream and shows everything a client owes the protocol:

* open a session, send keepalives at the interval the server gives, and keep the safe period (docs/protocol.md,
  "The safe period") from the keepalives the server names;
* acquire with a fencing token, release, cancel nothing by hand (the server enforces wait_ms), close in order;
* resume after a broken stream or a NotLeader frame on the endpoint it names (or the next one, after a backoff),
  re-sending every unanswered request with its old request_seq;
* answer Staleness Warnings and hand Pre-emption Requests to the application.

The stubs are generated from the .proto with grpc_tools at first import (Debian: python3-grpcio,
python3-grpc-tools) into FORELOCK_STUBS_DIR (default: a "generated" folder beside this file).
"""

import importlib
import os
import random
import sys
import threading
import time
from dataclasses import dataclass, field

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.join(HERE, "..", "..", "proto")
PROTO_FILE = "forelock/v1/forelock.proto"

MAX_DRIFT = 0.01  # how much faster or slower this clock may run than the server's (docs/protocol.md)
MARGIN_MS = 100.0  # the gap between checking the safe period and acting on it
OPEN_TIMEOUT_S = 2.0  # how long one endpoint may take to answer the open (a crashed host may never answer)


def load_stubs():
    """Generates (once) and imports the protobuf and gRPC modules of forelock.v1."""
    out = os.environ.get("FORELOCK_STUBS_DIR", os.path.join(HERE, "generated"))
    if not os.path.exists(os.path.join(out, "forelock", "v1", "forelock_pb2_grpc.py")):
        from grpc_tools import protoc

        os.makedirs(out, exist_ok=True)
        args = ["protoc", f"-I{PROTO_ROOT}", f"--python_out={out}", f"--grpc_python_out={out}", PROTO_FILE]
        if protoc.main(args) != 0:
            raise RuntimeError(f"grpc_tools could not compile {PROTO_FILE}")
    if out not in sys.path:
        sys.path.insert(0, out)
    return importlib.import_module("forelock.v1.forelock_pb2"), importlib.import_module("forelock.v1.forelock_pb2_grpc")


pb, pb_grpc = load_stubs()


class ForelockError(Exception):
    """A refused request or session: `code` is the stable Forelock code (docs/protocol.md, "Errors")."""

    def __init__(self, code, message, retriable=False):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.retriable = code, message, retriable


@dataclass
class Grant:
    """A held lock: its fencing token goes with every write to the resource it protects."""

    name: str
    token: int
    fenced: bool


@dataclass
class _Pending:
    """A request without a final answer yet: re-sent with the same request_seq on every new stream."""

    frame: object
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None
    error: object = None


class _Stream:
    """One Session call: its outgoing queue and the send times of its keepalives (numbered from 1 per stream)."""

    def __init__(self, address):
        self.address = address
        self.channel = grpc.insecure_channel(address)
        self.outbox = []
        self.wake = threading.Condition()
        self.open_sent_ms = 0.0
        self.keepalive_sent_ms = {}
        self.next_keepalive_seq = 1

    def requests(self):
        """The request iterator gRPC reads: frames as they are queued; None half-closes."""
        while True:
            with self.wake:
                while not self.outbox:
                    self.wake.wait()
                frame = self.outbox.pop(0)
            if frame is None:
                return
            yield frame

    def send(self, frame):
        with self.wake:
            self.outbox.append(frame)
            self.wake.notify()


def _now_ms():
    return time.monotonic() * 1000.0


class ForelockClient:
    """One session. `on_warning(warning)` returns "ACK", "RELEASING" or ("CHECKPOINTING", ms); `on_preemption(request)`
    is called with a PreemptionRequest for a held lock (release it to honour it); `on_resumed(address)` after the
    session resumed on another stream. All three run on an event thread, never on the stream's."""

    def __init__(self, endpoints, client_name="python", ttl_ms=10_000, on_warning=None, on_preemption=None,
                 on_resumed=None):
        if not endpoints:
            raise ValueError("at least one endpoint (host:port) is required")
        self.endpoints = list(endpoints)
        self.client_name, self.ttl_ms = client_name, ttl_ms
        self.on_warning = on_warning or (lambda warning: "ACK")
        self.on_preemption = on_preemption or (lambda request: None)
        self.on_resumed = on_resumed or (lambda address: None)
        self.session_id, self.secret = "", ""
        self.held = {}  # name -> Grant
        self.safe_until_ms = 0.0  # monotonic ms; never moves backwards
        self.connected_to = None
        self._mu = threading.RLock()
        self._pending = {}  # request_seq -> _Pending
        self._next_seq = 1
        self._stream = None
        self._opened = threading.Event()
        self._ended = threading.Event()
        self._end_reason = None
        self._closing = False
        self._events = []
        self._events_ready = threading.Condition()
        self._interval_ms = 1000

    # ---- public API ----

    def connect(self, timeout_s=10.0):
        """Opens the session on the leader (following NotLeader hints); returns once it is open."""
        threading.Thread(target=self._session_loop, name="forelock-session", daemon=True).start()
        threading.Thread(target=self._keepalive_loop, name="forelock-keepalive", daemon=True).start()
        threading.Thread(target=self._event_loop, name="forelock-events", daemon=True).start()
        if not self._opened.wait(timeout_s):
            raise ForelockError("UNAVAILABLE", f"no leader answered on {self.endpoints} within {timeout_s} s", True)
        if self._ended.is_set():
            raise ForelockError("SESSION_NOT_FOUND", f"the session ended: {self._end_reason}")
        return self

    def acquire(self, name, wait_ms=0, fenced=False, shared=False, never_preempt=False, metadata=""):
        """Takes `name`; wait_ms 0 tries once. Returns a Grant or raises ForelockError (LOCK_BUSY, TIMEOUT, ...)."""
        mode = pb.SHARED if shared else pb.EXCLUSIVE
        request = pb.AcquireRequest(name=name, mode=mode, fenced=fenced, wait_ms=wait_ms, metadata=metadata,
                                    never_preempt=never_preempt)
        answer = self._request("acquire", request, timeout_s=wait_ms / 1000.0 + 30.0)
        grant = Grant(name=name, token=int(answer.token), fenced=answer.fenced)
        with self._mu:
            self.held[name] = grant
        return grant

    def release(self, grant):
        """Releases a held lock (by its Grant, so a stale token is refused rather than releasing a newer grant)."""
        self._request("release", pb.ReleaseRequest(name=grant.name, token=grant.token), timeout_s=30.0)
        with self._mu:
            self.held.pop(grant.name, None)

    def is_safe(self):
        """True while the session's locks may be acted on (the safe period of the latest keepalive answer)."""
        return _now_ms() < self.safe_until_ms

    def close(self, timeout_s=10.0):
        """Ends the session: CloseSession, then a half-close at once; waits for SessionEnded{closed}."""
        with self._mu:
            self._closing = True
            stream = self._stream
        if stream is not None and not self._ended.is_set():
            stream.send(pb.ClientFrame(close=pb.CloseSession()))
            stream.send(None)
        if not self._ended.wait(timeout_s):
            raise ForelockError("TIMEOUT", f"no SessionEnded within {timeout_s} s")
        return self._end_reason

    # ---- requests ----

    def _request(self, kind, message, timeout_s):
        with self._mu:
            if self._ended.is_set():
                raise ForelockError("SESSION_NOT_FOUND", f"the session ended: {self._end_reason}")
            seq = self._next_seq  # never reused within the session (docs/protocol.md, request_seq and dedup)
            self._next_seq += 1
            message.request_seq = seq
            pending = _Pending(frame=pb.ClientFrame(**{kind: message}))
            self._pending[seq] = pending
            if self._stream is not None and self._opened.is_set():
                self._stream.send(pending.frame)
        if not pending.done.wait(timeout_s):
            raise ForelockError("TIMEOUT", f"no answer to request_seq {seq} within {timeout_s} s", True)
        if pending.error is not None:
            raise pending.error
        return pending.result

    def _settle(self, seq, result=None, error=None):
        with self._mu:
            pending = self._pending.pop(int(seq), None)
        if pending is not None:
            pending.result, pending.error = result, error
            pending.done.set()

    # ---- the session's streams ----

    def _session_loop(self):
        """Dials until the session ends: the NotLeader hint first, else the next endpoint after a backoff."""
        hint, index, failures = None, 0, 0
        while not self._ended.is_set():
            address = hint or self.endpoints[index % len(self.endpoints)]
            if hint is None:
                index += 1
            outcome, hint = self._serve(address)
            if outcome == "opened":
                failures = 0
            if hint is None and not self._ended.is_set():
                failures += 1
                backoff_s = min(1.0, 0.02 * 2 ** min(failures, 6))
                time.sleep(backoff_s * (0.5 + random.random() / 2))

    def _serve(self, address):
        """Runs one Session call to its end. Returns ("opened" or "refused", the NotLeader hint or None)."""
        stream = _Stream(address)
        outcome, hint = "refused", None
        with self._mu:
            opening = pb.OpenSession(client_name=self.client_name, ttl_ms=self.ttl_ms,
                                     session_id=self.session_id, secret=self.secret)
        stream.open_sent_ms = _now_ms()
        stream.send(pb.ClientFrame(open=opening))
        call = pb_grpc.ForelockStub(stream.channel).Session(stream.requests())
        give_up = threading.Timer(OPEN_TIMEOUT_S, lambda: outcome == "refused" and call.cancel())
        give_up.start()
        try:
            for frame in call:
                kind = frame.WhichOneof("frame")
                if kind == "opened":
                    outcome = "opened"
                    give_up.cancel()
                    self._on_opened(stream, frame)
                elif kind == "not_leader":
                    hint = frame.not_leader.leader_address or None
                    hint = None if hint == address else hint
                else:
                    self._on_frame(stream, frame, kind)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.PERMISSION_DENIED:
                self._end(f"refused: {error.details()}")
        finally:
            give_up.cancel()
            with self._mu:
                if self._stream is stream:
                    self._stream = None
            stream.send(None)
            stream.channel.close()
        return outcome, hint

    def _on_opened(self, stream, frame):
        opened = frame.opened
        with self._mu:
            resumed = self.session_id != ""
            self.session_id = opened.session_id
            self.secret = opened.secret or self.secret  # sent once, on creation
            self.held = {h.name: Grant(h.name, int(h.token), h.fenced) for h in opened.held}
            self.connected_to = stream.address
            self._stream = stream
            self._extend(stream, frame.last_keepalive_seq, opened.guarantee_ms)
            self._interval_ms = opened.keepalive_interval_ms
            # Resume: every unanswered request again, with its old request_seq; the cluster answers it once.
            for seq in sorted(self._pending):
                stream.send(self._pending[seq].frame)
            closing = self._closing
        if closing:  # close() was called while no stream was open
            stream.send(pb.ClientFrame(close=pb.CloseSession()))
            stream.send(None)
        else:
            self._send_keepalive(stream)
        self._opened.set()
        if resumed:
            self._emit("resumed", stream.address)

    def _on_frame(self, stream, frame, kind):
        body = getattr(frame, kind)
        if kind == "keepalive":
            with self._mu:
                self._interval_ms = body.keepalive_interval_ms
                self._extend(stream, frame.last_keepalive_seq, body.guarantee_ms)
        elif kind == "acquire" and body.status == pb.AcquireResult.GRANTED:
            self._settle(body.request_seq, result=body)
        elif kind == "done":
            self._settle(body.request_seq, result=body)
        elif kind == "error":
            self._settle(body.request_seq, error=ForelockError(body.code, body.message, body.retriable))
        elif kind == "warning":
            self._emit("warning", body)
        elif kind == "preemption":
            self._emit("preemption", body)
        elif kind == "revoked":
            with self._mu:
                self.held.pop(body.resource_id, None)
            self._emit("revoked", body)
        elif kind == "ended":
            self._end(body.reason)

    def _extend(self, stream, keepalive_seq, guarantee_ms):
        """safe_until = send_time(K) + g * (1 - max_drift) - margin, K the keepalive the frame names (0: the open)."""
        sent = stream.keepalive_sent_ms.get(int(keepalive_seq)) if keepalive_seq else stream.open_sent_ms
        if sent is not None:
            self.safe_until_ms = max(self.safe_until_ms, sent + guarantee_ms * (1 - MAX_DRIFT) - MARGIN_MS)

    def _end(self, reason):
        with self._mu:
            self._end_reason = reason
            self._ended.set()
            self._opened.set()
            pending, self._pending = list(self._pending.values()), {}
            self.held = {}
        for each in pending:
            each.error = ForelockError("SESSION_NOT_FOUND", f"the session ended: {reason}")
            each.done.set()

    # ---- keepalives and events ----

    def _send_keepalive(self, stream):
        with self._mu:
            seq = stream.next_keepalive_seq
            stream.next_keepalive_seq += 1
            stream.keepalive_sent_ms[seq] = _now_ms()
        stream.send(pb.ClientFrame(keepalive=pb.Keepalive(seq=seq, client_time_ms=time.time() * 1000.0)))

    def _keepalive_loop(self):
        while not self._ended.wait(self._interval_ms / 1000.0):
            with self._mu:
                stream = None if self._closing else self._stream
            if stream is not None:
                self._send_keepalive(stream)

    def _emit(self, kind, body):
        with self._events_ready:
            self._events.append((kind, body))
            self._events_ready.notify()

    def _event_loop(self):
        """Runs the application's handlers off the stream's thread, so they may call release()."""
        while True:
            with self._events_ready:
                while not self._events:
                    self._events_ready.wait()
                kind, body = self._events.pop(0)
            if kind == "warning":
                self._answer(body)
            elif kind == "preemption":
                self.on_preemption(body)
            elif kind == "resumed":
                self.on_resumed(body)

    def _answer(self, warning):
        answer = self.on_warning(warning)
        kind, checkpoint_ms = (answer, 0) if isinstance(answer, str) else answer
        frame = pb.ClientFrame(warning_answer=pb.WarningAnswer(
            warning_id=warning.warning_id, name=warning.resource_id,
            kind=pb.WarningAnswer.Kind.Value(kind), checkpoint_ms=checkpoint_ms))
        with self._mu:
            stream = self._stream
        if stream is not None:
            stream.send(frame)
