"""The web dashboard: server-rendered pages for the service's jobs, models and queue.

`router` holds every dashboard route; app.main includes it beside the API.
"""

from fastapi import APIRouter

from app.web import actions, pages, static_files

router = APIRouter(include_in_schema=False)
for _module in (pages, actions, static_files):
    router.include_router(_module.router)
