"""The dashboard's routes: server-rendered pages, server-sent events and the JSON API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from reconciler.errors import ReconcilerError
from reconciler.plan.render import render_json
from reconciler.project import Connect, Project
from reconciler.providers.base import ProviderError
from reconciler.ui.jobs import FINAL_EVENTS, Busy, Job, Jobs
from reconciler.ui.security import COOKIE, Guard, safe_next
from reconciler.ui.views import Filters, dashboard, plan_view

HERE = Path(__file__).parent
KEEPALIVE_S = 15.0  # an SSE comment this often, so proxies keep an idle stream open


def create_app(
    project: Callable[[], Project],
    connect: Callable[[Project], Connect],
    *,
    token: str | None,
    bind_host: str,
    scrub: Callable[[str], str] = str,
) -> Guard:
    """The dashboard over the project `project()` returns (a fresh one per use: its own store and lock)."""
    templates = Jinja2Templates(directory=HERE / "templates")
    jobs = Jobs(project, connect, scrub)
    sandbox = project().sandbox

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        context = {"workspace": project().workspace, "sandbox": sandbox, "login": token is not None, **context}
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    async def read(work: Callable[[], Any]) -> tuple[Any, str]:
        """Run blocking project work in a thread: its result, or the error to show instead."""
        try:
            return await run_in_threadpool(work), ""
        except (ReconcilerError, ProviderError) as error:
            return None, str(error)

    async def index(request: Request) -> Response:
        filters = Filters.of(request.query_params)
        p = project()
        board, error = await read(lambda: dashboard(p, connect(p), filters))
        return page(request, "dashboard.html", board=board, error=error, filters=filters, running=jobs.running_apply())

    async def plan_page(request: Request) -> Response:
        changed_only = request.query_params.get("graph") != "all"
        view, error = await read(lambda: plan_view(project().plan(), changed_only=changed_only))
        return page(request, "plan.html", view=view, error=error, running=jobs.running_apply())

    async def runs_page(request: Request) -> Response:
        history, error = await read(lambda: project().history.runs())
        return page(request, "runs.html", jobs=jobs.all(), runs=history or [], error=error)

    async def run_page(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        job = jobs.live(run_id)
        if job is not None:
            return page(request, "job.html", job=job)
        run, error = await read(lambda: project().history.get(run_id))
        return page(request, "run.html", run=run, error=error, status_code=404 if error else 200)

    async def run_events(request: Request) -> Response:
        job = jobs.live(request.path_params["run_id"])
        if job is None:
            message = "no such job in this dashboard (a run's events live only in the process that ran it)"
            return JSONResponse({"error": message}, status_code=404)
        after = _int(request.headers.get("last-event-id"), -1)  # a reconnecting EventSource resumes
        return StreamingResponse(_stream(jobs, job, after), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})  # fmt: skip

    async def api_start(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        action = body.get("action") if isinstance(body, dict) else None
        if action not in ("plan", "apply"):
            return JSONResponse({"error": 'the body must be a JSON object {"action": "plan" | "apply"}',
                                 "field": "action"}, status_code=400)  # fmt: skip
        try:
            job = jobs.start(action)
        except Busy as busy:
            running = busy.job
            return JSONResponse({"error": f"an apply is already running in workspace {running.workspace}: "
                                          f"{running.id} (started {running.started_at})",
                                 "running": running.to_json()}, status_code=409)  # fmt: skip
        except ReconcilerError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse({"id": job.id, "events_url": f"/runs/{job.id}/events", "url": f"/runs/{job.id}"},
                            status_code=202)  # fmt: skip

    async def api_run(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        job = jobs.live(run_id)
        if job is not None:
            return JSONResponse(job.to_json())
        run, error = await read(lambda: project().history.get(run_id))
        return JSONResponse({"error": error}, status_code=404) if error else JSONResponse(run.to_json())

    async def api_status(request: Request) -> Response:
        filters = Filters.of(request.query_params)
        p = project()
        board, error = await read(lambda: dashboard(p, connect(p), filters))
        return JSONResponse({"error": error}, status_code=400) if error else JSONResponse(board.to_json())

    async def api_plan(request: Request) -> Response:
        plan, error = await read(lambda: project().plan())
        if error:
            return JSONResponse({"error": error}, status_code=400)
        return Response(render_json(plan), media_type="application/json")

    async def login_form(request: Request) -> Response:
        return page(request, "login.html", next=safe_next(request.query_params.get("next", "/")), wrong=False)

    async def login(request: Request) -> Response:
        form = await request.form()
        target = safe_next(str(form.get("next") or "/"))
        if not guard.token_matches(str(form.get("token") or "")):
            return page(request, "login.html", status_code=401, next=target, wrong=True)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, guard.session_value(), httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")  # fmt: skip
        return response

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/plan", plan_page),
            Route("/runs", runs_page),
            Route("/runs/{run_id}", run_page),
            Route("/runs/{run_id}/events", run_events),
            Route("/api/runs", api_start, methods=["POST"]),
            Route("/api/runs/{run_id}", api_run),
            Route("/api/status", api_status),
            Route("/api/plan", api_plan),
            Route("/login", login_form),
            Route("/login", login, methods=["POST"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
    )
    app.state.jobs = jobs
    guard = Guard(app, token=token, bind_host=bind_host)
    return guard


async def _stream(jobs: Jobs, job: Job, after: int) -> AsyncIterator[str]:
    """The job's events after `after` as SSE messages (`id` = the event's seq), until its final event."""
    missed, subscriber = jobs.subscribe(job, after)
    try:
        for seq, event in missed:
            yield _message(seq, event)
        if subscriber is None:
            return
        while True:
            try:
                seq, event = await asyncio.wait_for(subscriber.queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            yield _message(seq, event)
            if event["event"] in FINAL_EVENTS:
                return
    finally:
        if subscriber is not None:
            jobs.unsubscribe(job, subscriber)


def _message(seq: int, event: dict[str, Any]) -> str:
    """One SSE message: its data the event's JSON as `apply --events` writes it, its id the event's index."""
    return f"id: {seq}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default
