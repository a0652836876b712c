"""reconciler: ad operations as code."""

import sys

__version__ = "0.1.0"

# httpx imports its own command-line tool (and with it rich and pygments, ~70 ms) whenever rich is
# installed, as it is for our progress bar; reconciler never runs that tool, so it is not loaded and
# httpx falls back to its stub (httpx/__init__.py: `from ._main import main` under `except ImportError`).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
