"""Run a SIPVicious OSS tool with another User-Agent than its own ("friendly-scanner").

Usage: python3 sipvicious_ua.py [--fix-digest] USER_AGENT TOOL [ARGS...]   (TOOL: svmap, svwar, svcrack)

The toolkit has no option for its User-Agent: every request is built by
sipvicious.libs.svhelper.makeRequest, whose default is "friendly-scanner", and each tool
imports that function by name. This wrapper replaces the name in the tool's module with
one that passes the given User-Agent, then runs the tool's main() as its console script
does. On exit it prints to stderr one line "sipvicious_ua: {json}" with the number of
requests built and how many of them carried the given User-Agent header, so that a test
can tell the disguise was in force.

--fix-digest mends a bug of SIPVicious 0.3.8's digest (svhelper.challengeResponse): to a
challenge without qop it answers with the RFC 2069 response but still adds "qop=auth"
(without cnonce and nc), which a server rejects as malformed whatever the password. With
the fix the stray parameter is left out, so each guess is a well-formed digest that the
server checks against the password.
"""

import atexit
import importlib
import json
import sys


def fix_digest() -> None:
    from sipvicious.libs import svhelper

    original = svhelper.challengeResponse

    def challenge_response(auth, method, uri):
        header = original(auth, method, uri)
        if auth.get("qop") is None and auth.get("algorithm") in (None, "md5", "MD5"):
            header = header.replace(",qop=auth", "")
        return header

    svhelper.challengeResponse = challenge_response


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--fix-digest"]:
        args = args[1:]
        fix_digest()
    useragent, tool, *args = args
    module = importlib.import_module(f"sipvicious.{tool}")
    original = module.makeRequest
    counts = {"useragent": useragent, "requests": 0, "disguised": 0}

    def make_request(*positional, **keywords):
        keywords["useragent"] = useragent
        request = original(*positional, **keywords)
        counts["requests"] += 1
        counts["disguised"] += f"\r\nUser-Agent: {useragent}\r\n" in request
        return request

    module.makeRequest = make_request
    atexit.register(lambda: print("sipvicious_ua: " + json.dumps(counts), file=sys.stderr, flush=True))
    sys.argv = [f"sipvicious_{tool}", *args]
    module.main()


if __name__ == "__main__":
    main()
