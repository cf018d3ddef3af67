"""One JSON-RPC call over HTTPS with basic authentication; prints the outcome as JSON.

Usage: python3 jsonrpc_call.py URL ACCOUNT PASSWORD METHOD [CAFILE]
The server's certificate is verified against CAFILE (the call server's own,
pinned) for an https URL. Runs on the controller or, piped to `python3 -`,
inside a lab container.
Prints {"status": HTTP status or null, "body": text, "error": connection error or null}.
"""

import base64
import json
import ssl
import sys
import urllib.error
import urllib.request


def main() -> None:
    url, account, password, method = sys.argv[1:5]
    context = ssl.create_default_context(cafile=sys.argv[5]) if len(sys.argv) > 5 else None
    body = json.dumps({"jsonrpc": "2.0", "method": method, "id": 1}).encode()
    token = base64.b64encode(f"{account}:{password}".encode()).decode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"}
    )
    outcome = {"status": None, "body": "", "error": None}
    try:
        with urllib.request.urlopen(request, timeout=3, context=context) as answer:
            outcome.update(status=answer.status, body=answer.read().decode(errors="replace"))
    except urllib.error.HTTPError as exc:
        outcome.update(status=exc.code, body=exc.read().decode(errors="replace"))
    except OSError as exc:
        outcome["error"] = str(exc)
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
