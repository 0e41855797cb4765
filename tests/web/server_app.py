"""App factory for the live uvicorn server of the browser and GDAL tests (test specs)."""

from __future__ import annotations

import os

from fastapi import FastAPI

from inclusive_cities.web import create_app
from tests.web.conftest import specs


def app() -> FastAPI:
    return create_app(os.environ["INCLUSIVE_CITIES_DATABASE_URL"], specs=specs)
