"""Emulation of Meta's Graph / Marketing API v26.0 (mounted at /meta/v26.0, v25.0 alike; uploads at /meta/cdn).

Built to shared/research/platform-apis.md section 2. Quirks kept on purpose:
every error is HTTP 400 with an `{"error": {...}}` body (OAuth, validation,
rate limits alike; only transient failures are 500), a missing object is
code 100 subcode 33, creates answer `{"id": "..."}` and updates
`{"success": true}`, nested params may come as JSON-encoded strings in form
bodies, budgets read back as numeric strings, an ad's `creative` reads back
as `{"id": ...}`, deleted ads objects stay readable with status DELETED, and
images are addressed by the md5 hash of their bytes.
"""

from __future__ import annotations

from reconciler.sandbox.context import Platform
from reconciler.sandbox.meta.errors import MetaErrors
from reconciler.sandbox.meta.routes import MOUNT, NAME, PREFIX, MetaApi, provision_account

__all__ = ["NAME", "PREFIX", "PLATFORM", "MetaApi"]

PLATFORM = Platform(
    NAME,
    PREFIX,
    lambda sandbox: MetaApi(sandbox).routes(),
    MetaErrors(),
    mount=MOUNT,
    provision_account=provision_account,
)
