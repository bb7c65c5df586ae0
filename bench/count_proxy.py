"""A tiny counting HTTP proxy for AWS calls: forwards every request to an upstream endpoint (moto)
unchanged and logs which operation it was, from `X-Amz-Target` (JSON protocols: DynamoDB, SFN),
`Action=` (query protocols: EC2, STS, SNS) or, for S3's REST API, the method, path and query.

    proxy = CountProxy("http://127.0.0.1:4701").start()
    ... point AWS_ENDPOINT_URL at proxy.url ...
    proxy.take()   # [{"service", "operation", "detail", "status"}, ...] since the last take()
"""
import http.client
import json
import re
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# S3 subresources (query keys) → operation name, by method.
S3_SUBRESOURCES = {
    "acl": "BucketAcl", "location": "BucketLocation", "tagging": "BucketTagging",
    "versioning": "BucketVersioning", "policy": "BucketPolicy", "publicAccessBlock": "PublicAccessBlock",
    "encryption": "BucketEncryption", "ownershipControls": "BucketOwnershipControls",
    "policyStatus": "BucketPolicyStatus", "logging": "BucketLogging",
}
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


def operation(method, path, headers, body):
    """(service, operation, detail) of one AWS request."""
    m = _SCOPE.search(headers.get("Authorization", ""))
    service = m.group(2) if m else "?"
    target = headers.get("X-Amz-Target")
    if target:
        op = target.split(".")[-1]
        detail = ""
        try:
            doc = json.loads(body or b"{}")
            key = doc.get("Key") or doc.get("Item") or {}
            pk = key.get("pk", {}) if isinstance(key, dict) else {}
            pk = pk.get("S", "") if isinstance(pk, dict) else ""
            detail = " ".join(x for x in [doc.get("TableName", ""), pk.split("#")[0] + "#…" if "#" in pk else pk,
                                          "conditional" if doc.get("ConditionExpression") else ""] if x)
        except ValueError:
            pass
        return service, op, detail
    url = urllib.parse.urlsplit(path)
    form = urllib.parse.parse_qs(url.query)
    if headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded") and body:
        form.update(urllib.parse.parse_qs(body.decode("utf-8", "replace")))
    if "Action" in form:
        return service, form["Action"][0], ""
    # S3 REST
    keys = [k.split("=")[0] for k in url.query.split("&") if k]
    verb = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "HEAD": "Head", "POST": "Post"}.get(method, method)
    for k in keys:
        if k in S3_SUBRESOURCES:
            return "s3", verb + S3_SUBRESOURCES[k], f"{method} {url.path}?{url.query}"
    parts = [p for p in url.path.split("/") if p]
    what = "Bucket" if len(parts) <= 1 else "Object"
    return "s3" if service in ("?", "s3") else service, verb + what, f"{method} {url.path}?{url.query}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _forward(self):
        proxy = self.server.proxy
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "connection")}
        if body or self.command in ("POST", "PUT"):
            headers["Content-Length"] = str(len(body))
        service, op, detail = operation(self.command, self.path, self.headers, body)
        conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=60)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            status = resp.status
            out_headers = [(k, v) for k, v in resp.getheaders()
                           if k.lower() not in ("transfer-encoding", "connection", "content-length")]
        finally:
            conn.close()
        with proxy.lock:
            proxy.calls.append({"service": service, "operation": op, "detail": detail, "status": status})
        self.send_response(status)
        for k, v in out_headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward


class CountProxy:
    def __init__(self, upstream, port=0):
        u = urllib.parse.urlsplit(upstream)
        self.host, self.port = u.hostname, u.port or 80
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.server.daemon_threads = True
        self.server.proxy = self
        self.lock = threading.Lock()
        self.calls = []
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def take(self):
        with self.lock:
            out, self.calls = self.calls, []
        return out

    def stop(self):
        self.server.shutdown()
