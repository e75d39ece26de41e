"""`/docs`: the API's operations on one plain page, made from the OpenAPI schema itself."""

from __future__ import annotations

import html
from typing import Any

from litestar import Request, get
from litestar.response import Response

_METHODS = ("get", "post", "patch", "put", "delete")


@get("/openapi.json", summary="The OpenAPI 3.1 schema of this API", include_in_schema=False)
async def openapi(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    return Response(request.app.openapi_schema.to_schema())


@get("/docs", summary="This API, on one page", include_in_schema=False)
async def docs(request: Request[Any, Any, Any]) -> Response[str]:
    schema = request.app.openapi_schema.to_schema()
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(schema['info']['title'])}</title>",
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;"
        "padding:0 1rem;color:#111}code{background:#f3f3f3;padding:0 .2em}"
        "h2{font-size:1.1rem;margin-top:2rem}dt{font-family:monospace}</style></head><body>",
        f"<h1>{html.escape(schema['info']['title'])}</h1>",
        f"<p>{html.escape(schema['info'].get('description', ''))}</p>",
        "<p>The machine-readable schema: <a href='/openapi.json'>/openapi.json</a>.</p>",
    ]
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            parts.append(f"<h2><code>{method.upper()} {html.escape(path)}</code></h2>")
            parts.append(f"<p>{html.escape(op.get('summary', ''))}. ")
            parts.append(f"{html.escape(op.get('description', ''))}</p>")
            params = op.get("parameters", [])
            if params:
                parts.append("<dl>")
                for p in params:
                    about = p.get("description") or p.get("schema", {}).get("description", "")
                    parts.append(
                        f"<dt>{html.escape(p['name'])} ({html.escape(p['in'])})</dt>"
                        f"<dd>{html.escape(about or '')}</dd>"
                    )
                parts.append("</dl>")
    parts.append("</body></html>")
    return Response("".join(parts), media_type="text/html; charset=utf-8")
