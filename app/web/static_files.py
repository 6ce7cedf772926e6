"""The dashboard's own CSS and scripts and the vendored libraries, served by the API.

Only the files shipped in app/web/static are served (looked up in a table made at
start-up), so no request path can reach anything else on disk.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from app.errors import NotFound

STATIC_DIR = Path(__file__).resolve().parent / "static"
SERVED = {path.relative_to(STATIC_DIR).as_posix(): path for path in STATIC_DIR.rglob("*")
          if path.is_file() and path.suffix in (".js", ".css")}
# The files change only with a release; a day of caching keeps page loads cheap.
CACHE_CONTROL = "public, max-age=86400"

router = APIRouter()


@router.get("/static/{name:path}")
def static_file(name: str) -> FileResponse:
    path = SERVED.get(name)
    if path is None:
        raise NotFound("static file", name)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": CACHE_CONTROL})
