"""Where the workplace keeps the shared data sets: ``shared/data`` beside the checkout.

Read at run time, never copied in. A clone may sit deeper than the checkout it came from, so
the folder is looked for beside each ancestor of the project; ``INCLUSIVE_CITIES_SHARED_DATA``
names it outright.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_data(*parts: str) -> Path:
    """``shared/data/<parts>`` beside the project (or its nearest ancestor that has one)."""
    named = os.environ.get("INCLUSIVE_CITIES_SHARED_DATA")
    if named:
        return Path(named).joinpath(*parts)
    for folder in ROOT.parents:
        candidate = folder / "shared" / "data"
        if candidate.is_dir():
            return candidate.joinpath(*parts)
    return ROOT.parent.joinpath("shared", "data", *parts)
