"""A hostile OpenAI-compatible server (the s4 tester's, /work/briefs/s4/tester-hostile-server.py,
kept as it was written so its findings stay reproducible): ``base_url =
http://127.0.0.1:PORT/<mode>/v1`` picks the behaviour (``ok``, ``lp10``, ``e500``, ...);
``GET /stats`` counts the calls per mode and ``GET /reset`` clears the counts.

Tests start it with :func:`serve` (a daemon thread on a free port)."""
# ruff: noqa

import json, sys, time, threading, collections
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

COUNTS = collections.Counter()
LOG = []

def verdict_for(body, value="pass"):
    rf = body.get("response_format") or {}
    schema = None
    if rf.get("type") == "json_schema":
        schema = rf["json_schema"]["schema"]
    elif rf.get("type") == "json_object":
        schema = rf.get("schema")
    if schema is None:
        # find schema in system prompt
        sysm = body["messages"][0]["content"]
        i = sysm.find('{"')
        props = {}
        # crude: look for criteria names in schema text
        try:
            start = sysm.index("{", sysm.index("schema"))
            dec = json.JSONDecoder()
            schema, _ = dec.raw_decode(sysm[start:])
        except Exception:
            schema = {"properties": {"correct": {}}}
    props = schema.get("properties", {})
    out = {}
    for k, v in props.items():
        if k == "rationale":
            out[k] = "r"
        elif k == "score":
            out[k] = v.get("maximum", 5) if isinstance(v, dict) else 5
        elif k == "winner":
            out[k] = "A"
        elif k == "scores":
            out[k] = {c: 5 for c in (v.get("properties") or {})}
        else:
            if "level" in json.dumps(v):
                lv = v["properties"]["level"].get("enum", [1])
                out[k] = {"rationale": "r", "level": lv[-1]}
            else:
                out[k] = {"rationale": "r", "verdict": value}
    return out

def completion(content, finish="stop", extra=None):
    c = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
    if extra: c.update(extra)
    return {"id": "x", "object": "chat.completion", "model": "judge", "choices": [c],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def send(self, status, payload, ctype="application/json", headers=None):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items(): self.send_header(k, v)
        self.end_headers(); self.wfile.write(data)
    def do_GET(self):
        if self.path.startswith("/stats"):
            self.send(200, {"counts": COUNTS, "log": LOG[-50:]})
        elif self.path.startswith("/reset"):
            COUNTS.clear(); LOG.clear(); self.send(200, {})
        else:
            self.send(404, {"error": "no"})
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(n) or b"{}")
        mode = self.path.split("/")[1]
        COUNTS[mode] += 1
        rf = (body.get("response_format") or {}).get("type")
        LOG.append({"mode": mode, "rf": rf, "n_msgs": len(body["messages"])})
        ok = lambda: self.send(200, completion(json.dumps(verdict_for(body))))
        if mode == "ok": return ok()
        if mode == "lp10":
            content = '{"rationale": "r", "score": 10}'
            toks = []
            for ch in content:
                t = {"token": ch, "logprob": -0.01, "top_logprobs": [{"token": ch, "logprob": -0.01}]}
                toks.append(t)
            # the digit '1' of 10: model is sure of '1' (as in 10)
            i = content.index("10")
            toks[i]["top_logprobs"] = [{"token": "1", "logprob": -0.01}, {"token": "9", "logprob": -5.0}, {"token": "8", "logprob": -6.0}]
            return self.send(200, completion(content, extra={"logprobs": {"content": toks}}))
        if mode.startswith("pass") and mode[4:].isdigit():
            v = verdict_for(body); n = int(mode[4:]); i = 0
            for k in list(v):
                if isinstance(v[k], dict) and "verdict" in v[k]:
                    v[k]["verdict"] = "pass" if i < n else "fail"; i += 1
            return self.send(200, completion(json.dumps(v)))
        if mode == "fail": return self.send(200, completion(json.dumps(verdict_for(body, "fail"))))
        if mode == "reject500":
            if rf == "json_schema":
                return self.send(500, {"detail": [{"type": "literal_error", "loc": ["body", "response_format", "type"], "msg": "Input should be 'text' or 'json_object'"}]})
            return ok()
        if mode == "reject422":
            if rf == "json_schema":
                return self.send(422, {"detail": [{"msg": "Input should be 'text' or 'json_object'", "loc": ["body", "response_format"]}]})
            return ok()
        if mode == "rejectall400":
            if rf:
                return self.send(400, {"error": {"message": f"response_format {rf} is not supported"}})
            return ok()
        if mode == "reject500plain":  # 500 whose message does not name the format
            if rf == "json_schema":
                return self.send(500, {"error": {"message": "Internal Server Error"}})
            return ok()
        if mode == "e500": return self.send(500, {"error": {"message": "model crashed: CUDA OOM"}})
        if mode == "e502html": return self.send(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
        if mode == "e401": return self.send(401, {"error": {"message": "Incorrect API key provided"}})
        if mode == "e404": return self.send(404, b"<html>Not Found</html>", "text/html")
        if mode == "e422": return self.send(422, {"detail": "unprocessable"})
        if mode == "html": return self.send(200, b"<!doctype html><html><body>Welcome to nginx!</body></html>", "text/html")
        if mode == "empty": return self.send(200, b"")
        if mode == "trunc": return self.send(200, json.dumps(completion(json.dumps(verdict_for(body)))).encode()[:60])
        if mode == "null": return self.send(200, b"null")
        if mode == "list": return self.send(200, b"[]")
        if mode == "string": return self.send(200, b'"ok"')
        if mode == "nochoices": return self.send(200, {"choices": []})
        if mode == "choicesnull": return self.send(200, {"choices": [None]})
        if mode == "msgnull": return self.send(200, {"choices": [{"message": None, "finish_reason": "stop"}]})
        if mode == "contentnull": return self.send(200, completion(None, "length"))
        if mode == "emptycontent": return self.send(200, completion(""))
        if mode == "wrongschema": return self.send(200, completion('{"foo": 1}'))
        if mode == "truncverdict":
            t = json.dumps(verdict_for(body)); return self.send(200, completion(t[: len(t)//2], "length"))
        if mode == "choices_str": return self.send(200, {"choices": "abc"})
        if mode == "usage_weird":
            c = completion(json.dumps(verdict_for(body))); c["usage"] = {"prompt_tokens": "lots", "completion_tokens": -5}
            return self.send(200, c)
        if mode == "usage_neg":
            c = completion(json.dumps(verdict_for(body))); c["usage"] = {"prompt_tokens": -1000000, "completion_tokens": -5}
            return self.send(200, c)
        if mode == "usage_huge":
            c = completion(json.dumps(verdict_for(body))); c["usage"] = {"prompt_tokens": 10**12, "completion_tokens": 10**12}
            return self.send(200, c)
        if mode == "usage_float":
            c = completion(json.dumps(verdict_for(body))); c["usage"] = {"prompt_tokens": 1e400 if False else 1.5e300, "completion_tokens": 0.5}
            return self.send(200, c)
        if mode == "t429inf": return self.send(429, {"error": {"message": "rate"}}, headers={"retry-after-ms": "inf"})
        if mode == "t429big": return self.send(429, {"error": {"message": "rate"}}, headers={"Retry-After": "3600"})
        if mode == "t429": return self.send(429, {"error": {"message": "rate"}})
        if mode == "slowstream":
            data = json.dumps(completion(json.dumps(verdict_for(body)))).encode()
            self.send_response(200); self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data))); self.end_headers()
            for i in range(0, len(data), 10):
                self.wfile.write(data[i:i+10]); self.wfile.flush(); time.sleep(0.5)
            return
        if mode.startswith("sleep"):
            time.sleep(float(mode[5:])); return ok()
        if mode == "hang":
            time.sleep(3600); return
        if mode == "closeconn":
            self.close_connection = True; self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"cho"); self.wfile.flush(); return
        if mode == "refusal":
            return self.send(200, {"choices": [{"message": {"role": "assistant", "content": None, "refusal": "I can't"}, "finish_reason": "stop"}]})
        if mode == "think":
            return self.send(200, completion("<think>" + json.dumps(verdict_for(body, "fail")) + "</think>" + json.dumps(verdict_for(body))))
        self.send(400, {"error": {"message": "unknown mode " + mode}})


def serve(port: int = 0) -> tuple[str, ThreadingHTTPServer]:
    """Start the server on ``port`` (0: a free one) in a daemon thread; returns
    ``(root url, server)``. Call ``server.shutdown()`` when done. The counts start at 0
    (they are the module's: one server at a time)."""
    COUNTS.clear(); LOG.clear()
    server = ThreadingHTTPServer(("127.0.0.1", port), H)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 18555
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
