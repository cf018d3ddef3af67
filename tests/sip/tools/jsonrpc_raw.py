"""Raw JSON-RPC request bodies over HTTP or HTTPS with basic authentication; prints the outcomes as JSON.

Usage: python3 jsonrpc_raw.py URL ACCOUNT PASSWORD (--body TEXT | --body-file PATH)... [--cafile PATH]
       [--timeout SECONDS]

Each body is sent exactly as given (no JSON encoding by the client), so malformed and
ambiguous documents reach the server unchanged. Several bodies are sent in order on one
keep-alive connection (so, as long as the server keeps it, to the same server process);
a connection the server closed is opened again for the next body. URL is http:// or
https:// (checked against the CA file --cafile, else the system's CAs).
Prints {"status": HTTP status or null, "body": text, "error": connection error or null}
for one body, a JSON list of them for several.
Runs on the controller or, piped to `python3 -`, inside a lab container (standard library only).
"""

import argparse
import base64
import http.client
import json
import ssl
import sys
import urllib.parse


def connect(url: urllib.parse.SplitResult, cafile: str | None, timeout: float) -> http.client.HTTPConnection:
    if url.scheme == "https":
        context = ssl.create_default_context(cafile=cafile)
        return http.client.HTTPSConnection(url.hostname, url.port or 443, timeout=timeout, context=context)
    if url.scheme == "http":
        return http.client.HTTPConnection(url.hostname, url.port or 80, timeout=timeout)
    raise SystemExit(f"unsupported URL scheme: {url.scheme!r}")


def read_file(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("account")
    parser.add_argument("password")
    parser.add_argument("--body", dest="bodies", action="append", type=str.encode, default=[])
    parser.add_argument("--body-file", dest="bodies", action="append", type=read_file)
    parser.add_argument("--cafile")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    if not args.bodies:
        parser.error("give at least one --body or --body-file")
    url = urllib.parse.urlsplit(args.url)
    path = url.path or "/"
    if url.query:
        path += "?" + url.query
    token = base64.b64encode(f"{args.account}:{args.password}".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": f"Basic {token}"}
    outcomes = []
    conn = None
    for body in args.bodies:
        outcome = {"status": None, "body": "", "error": None}
        try:
            if conn is None:
                conn = connect(url, args.cafile, args.timeout)
            conn.request("POST", path, body=body, headers={**headers, "Content-Length": str(len(body))})
            answer = conn.getresponse()
            outcome.update(status=answer.status, body=answer.read().decode(errors="replace"))
            if answer.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}"
            if conn is not None:
                conn.close()
            conn = None
        outcomes.append(outcome)
    if conn is not None:
        conn.close()
    print(json.dumps(outcomes[0] if len(outcomes) == 1 else outcomes))


if __name__ == "__main__":
    sys.exit(main())
