"""Templates, their formatting filters, and the route class that turns errors into pages."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Coroutine

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from app.db.models import Job, isoformat, utcnow
from app.errors import ServiceError
from app.web.session import BadCsrf, LoginRequired, login_url

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)


def seconds(value: float | None) -> str:
    """A span of time for people: 0.4 s, 12.3 s, 4 min 05 s, 2 h 03 min."""
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.1f} s"
    minutes, secs = divmod(int(round(value)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def job_duration(job: Job) -> float | None:
    """Seconds from start to finish, or to now while the job runs; None before it starts."""
    if job.started_at is None:
        return None
    return ((job.finished_at or utcnow()) - job.started_at).total_seconds()


def moment(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def bound(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def percent(value: float | None) -> str:
    """A fraction in [0, 1] as a percentage."""
    return "—" if value is None else f"{100 * value:.1f} %"


def count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def shape(dims: list[Any]) -> str:
    return "×".join(str(dim) for dim in dims) or "scalar"


templates.env.filters.update(seconds=seconds, moment=moment, bound=bound, count=count, percent=percent, shape=shape,
                             iso=isoformat)
templates.env.globals.update(job_duration=job_duration)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The template `name` with `context`, plus the request's CSRF token for its forms."""
    context.setdefault("csrf", getattr(request.state, "csrf", ""))
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status_code=status_code, message=message)


# Scripts, styles and connections only from this server, and no framing (the Cancel
# button must not be clickable through someone else's page).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class PageRoute(APIRoute):
    """Answers a missing sign-in with a redirect to the login form, and a service error
    (not found, invalid input) with an error page instead of the API's JSON; every
    answer carries the dashboard's security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            response = await answer(request)
            response.headers.update(SECURITY_HEADERS)
            return response

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                if request.headers.get("hx-request"):
                    return Response(status_code=401, headers={"HX-Redirect": login_url(exc.next_path)})
                return RedirectResponse(login_url(exc.next_path), status_code=303)
            except BadCsrf:
                return _error_page(request, 403, "This form has expired or did not come from this dashboard. "
                                                 "Reload the page and try again.")
            except ServiceError as exc:
                return _error_page(request, exc.status_code, exc.message)
            except RequestValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, error['loc'][1:]))}: {error['msg']}" for error in exc.errors())
                return _error_page(request, 422, f"This address asks for something invalid: {problems}")

        return page_handler
