"""A Lambda Runtime API emulator (the part a custom runtime's `bootstrap` talks to), serving one
invocation per run on 127.0.0.1 (stdlib http.server, HTTP/1.1 keep-alive, TCP_NODELAY).

    api = RuntimeApi(); api.start()
    run = api.expect(event)                    # arm one invocation
    proc = subprocess.Popen([bootstrap], env={..., "AWS_LAMBDA_RUNTIME_API": api.address})
    run.done.wait(30)                          # run.next_at / run.response_at: perf_counter times

GET /2018-06-01/runtime/invocation/next hands out the armed event once (recording when the first
request arrived); a later /next (the runtime asking for more work) is held until the process is
killed. POST .../invocation/<id>/response or /error and POST .../init/error end the run.
"""
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


class Run:
    def __init__(self, event, function_arn):
        self.event = event
        self.function_arn = function_arn
        self.request_id = str(uuid.uuid4())
        self.next_at = None      # first GET /next
        self.response_at = None  # POST response / error received in full
        self.response = None
        self.error = None
        self.handed_out = False
        self.done = threading.Event()
        self.release = threading.Event()  # lets a held /next go (at shutdown)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        now = time.perf_counter()
        api = self.server.api
        if self.path != f"{PREFIX}/invocation/next":
            return self._send(404, b'{"errorMessage":"not found"}')
        run = api.current
        if run is None:
            return self._send(500, b'{"errorMessage":"no run armed"}')
        with api.lock:
            first = not run.handed_out
            run.handed_out = True
            if first:
                run.next_at = now
        if not first:
            # The runtime asks for its next event: it gets none (it is killed before).
            run.release.wait(120)
            try:  # the process is usually gone by now: nothing to tell it
                self._send(500, b'{"errorMessage":"emulator shutting down"}')
            except OSError:
                pass
            self.close_connection = True
            return
        body = json.dumps(run.event).encode()
        self._send(200, body, [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", run.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000)),
            ("Lambda-Runtime-Invoked-Function-Arn", run.function_arn),
            ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
        ])

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        now = time.perf_counter()
        run = self.server.api.current
        self._send(202, b'{"status":"OK"}', [("Content-Type", "application/json")])
        if run is None:
            return
        if self.path.endswith("/response"):
            run.response = body
        elif self.path.endswith("/error"):
            run.error = body or b"error"
        else:
            return
        run.response_at = now
        run.done.set()


class RuntimeApi:
    def __init__(self, port=0, function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench"):
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.server.daemon_threads = True
        self.server.api = self
        self.lock = threading.Lock()
        self.current = None
        self.function_arn = function_arn
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def expect(self, event):
        if self.current is not None:
            self.current.release.set()
        self.current = Run(event, self.function_arn)
        return self.current

    def stop(self):
        if self.current is not None:
            self.current.release.set()
        self.server.shutdown()
