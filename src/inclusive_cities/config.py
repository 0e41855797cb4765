"""Settings read from the environment (``INCLUSIVE_CITIES_*``) with embedded defaults."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./observatory.db"


class Settings(BaseSettings):
    """Where the observatory lives and how it talks to its users."""

    model_config = SettingsConfigDict(env_prefix="INCLUSIVE_CITIES_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    lang: str | None = None
    data_dir: str = "./observatory-data"
    """Where large files live beside the database (census microdata as Parquet, exports)."""


def get_settings() -> Settings:
    return Settings()
