"""The live dashboard: a static bundle served at ``/`` by the API.

``static/`` holds the built bundle (committed, so an installed playpipe has it); ``web/``
holds its TypeScript sources, ``package.json``, lockfile and build script. Rebuild with
``npm ci && npm run build`` in ``web/``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["static_dir"]


def static_dir() -> Path:
    """The folder of the built dashboard (``index.html``, ``app.js``, ``app.css``)."""
    return Path(__file__).parent / "static"
