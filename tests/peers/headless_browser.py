#!/usr/bin/env python3
"""A headless 'browser' for BROWSER=...: follows the authorization redirects
(keeping cookies, as a browser does) until the loopback redirect URI, and
requests that too, so the CLI's callback listener receives the response.

Usage: headless_browser.py URL        (webbrowser appends the URL)
Logs what it visited to $HEADLESS_BROWSER_LOG when set (URLs only).
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit

import httpx


def is_loopback_callback(url: str) -> bool:
    host = urlsplit(url).hostname
    return host in ("127.0.0.1", "localhost", "::1") and "/oauth/callback" in urlsplit(url).path


def main(url: str) -> int:
    log = os.environ.get("HEADLESS_BROWSER_LOG")
    with httpx.Client(follow_redirects=False, timeout=20) as browser:
        for _ in range(20):
            if log:
                with open(log, "a") as f:
                    f.write(url + "\n")
            response = browser.get(url)
            if is_loopback_callback(url) or response.status_code not in (301, 302, 303, 307, 308):
                return 0 if response.status_code < 400 else 1
            url = str(httpx.URL(url).join(response.headers["location"]))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
