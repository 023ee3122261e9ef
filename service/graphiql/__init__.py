"""GraphiQL served entirely by the service: page, boot script and the pinned vendor bundles.

The page loads nothing from another host. Its scripts and styles live under ``/graphiql/``:
``boot.js`` and ``page.css`` are ours, ``vendor/`` holds React, GraphiQL and its explorer
plugin, copied from the npm packages pinned in ``graphiql/package-lock.json`` by
``make install`` (``npm ci`` and ``graphiql/copy-assets.mjs``) and by the Dockerfile. The
page's Content-Security-Policy allows scripts and styles from this origin only, no inline
script, and connections only to this origin (HTTP and its WebSocket).
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
PAGE = (HERE / "page.html").read_text(encoding="utf-8")
PREFIX = "/graphiql"

# The files page.html loads from vendor/ (graphiql/copy-assets.mjs writes them).
VENDOR_FILES = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "graphiql.min.css",
    "plugin-explorer.umd.js",
    "plugin-explorer.css",
)

# A host as a browser sends it: a name or IPv4 address, or a bracketed IPv6 address, and a port.
_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")

_MISSING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GraphiQL is not installed</title></head>
<body><h1>GraphiQL is not installed</h1>
<p>Its files are built from pinned npm packages by <code>make install</code>, which needs
Node.js and npm (Debian: <code>apt-get install nodejs npm</code>).</p></body></html>
"""


def assets_installed() -> bool:
    """Whether every vendor file the page loads is present."""
    return all((VENDOR_DIR / name).is_file() for name in VENDOR_FILES)


def content_security_policy(request: Request) -> str:
    """The page's policy: everything from this origin; data: only for GraphiQL's inlined
    fonts and icons; connections to this origin's HTTP and WebSocket only."""
    connect = ["'self'"]
    host = request.headers.get("host", "")
    if _HOST.fullmatch(host):
        # 'self' covers ws(s): of the same host in current browsers; older ones need it named.
        connect.append(f"{'wss' if request.url.scheme == 'https' else 'ws'}://{host}")
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            f"connect-src {' '.join(connect)}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def graphiql_page(request: Request) -> Response:
    """The HTML page, with its Content-Security-Policy; 503 naming the fix when the vendor
    bundles were not installed."""
    headers = {
        "Content-Security-Policy": content_security_policy(request),
        "Cache-Control": "no-store",
    }
    if not assets_installed():
        return HTMLResponse(_MISSING, status_code=503, headers=headers)
    return HTMLResponse(PAGE, headers=headers)


def graphiql_routes() -> list[BaseRoute]:
    """The page's own static files under ``/graphiql/``, compressed for browsers that accept
    it (GraphiQL's bundle is 3.5 MB, about 0.7 MB compressed)."""
    files = StaticFiles(directory=STATIC_DIR, check_dir=False)
    return [Mount(PREFIX, app=GZipMiddleware(files, minimum_size=1024), name="graphiql")]
