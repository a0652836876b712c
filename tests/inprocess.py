"""The sandbox mounted in-process (httpx.ASGITransport), for fast tests of the pipeline."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from reconciler.apply import ApplyResult, EventSink
from reconciler.connect import SANDBOX_ROOT, Connection, sandbox
from reconciler.model import TargetConfig
from reconciler.project import Project
from reconciler.sandbox import create_app


class InProcessSandbox:
    def __init__(self) -> None:
        self.app = create_app()

    def connect(self, targets: Mapping[str, TargetConfig]) -> Connection:
        return sandbox(targets, {}, self.app)

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        async def send() -> Any:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=SANDBOX_ROOT) as client:
                response = await client.request(method, f"/__sandbox__/{path}", **kwargs)
                response.raise_for_status()
                return response.json() if response.content else None

        return asyncio.run(send())

    def apply(self, project: Path) -> ApplyResult | None:
        """Plan and apply everything; assert it went well."""
        result = Project(project).apply(
            connect=self.connect, events=EventSink(), confirm=lambda plan: plan.has_changes, notify=print
        )
        assert result is None or result.ok, result.failures
        return result
