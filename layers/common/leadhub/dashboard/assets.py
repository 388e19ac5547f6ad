"""The dashboard's own static files (assets/), served at /assets/<name>.<content hash>.<ext>: a changed
file gets a new URL, so every URL can be cached for a year."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ASSETS_DIR = Path(__file__).with_name("assets")
ASSETS_PATH = "/assets/"
CONTENT_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Asset:
    name: str  # as in assets/: "app.css"
    hashed_name: str  # as in its URL: "app.3f2a9c1d7e4b.css"
    content: bytes
    content_type: str

    @property
    def url(self) -> str:
        return f"{ASSETS_PATH}{self.hashed_name}"


@cache
def manifest() -> dict[str, Asset]:
    """Every asset by its plain name, read once per execution environment."""
    found: dict[str, Asset] = {}
    for path in sorted(ASSETS_DIR.iterdir()):
        if path.suffix not in CONTENT_TYPES:
            continue
        content = path.read_bytes()
        digest = hashlib.sha256(content).hexdigest()[:12]
        found[path.name] = Asset(
            path.name, f"{path.stem}.{digest}{path.suffix}", content, CONTENT_TYPES[path.suffix]
        )
    return found


@cache
def _by_hashed_name() -> dict[str, Asset]:
    return {asset.hashed_name: asset for asset in manifest().values()}


def asset_url(name: str) -> str:
    return manifest()[name].url


def find_asset(hashed_name: str) -> Asset | None:
    """The asset a URL names; None for another name or an outdated hash."""
    return _by_hashed_name().get(hashed_name)
