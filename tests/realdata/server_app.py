"""App factory for the live server of the real-shaped city: the real app, no test specs."""

from __future__ import annotations

import os

from fastapi import FastAPI

from inclusive_cities.web import create_app


def app() -> FastAPI:
    return create_app(os.environ["INCLUSIVE_CITIES_DATABASE_URL"])
