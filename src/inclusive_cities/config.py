"""Settings read from the environment (``INCLUSIVE_CITIES_*``) with embedded defaults."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic_settings import BaseSettings, SettingsConfigDict

from inclusive_cities.errors import InclusiveCitiesError
from inclusive_cities.i18n import gettext as _

DEFAULT_DATABASE_URL = "sqlite:///./observatory.db"
DEFAULT_BASEMAP_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_BASEMAP_ATTRIBUTION = "© OpenStreetMap contributors"
DEFAULT_BASEMAP_ATTRIBUTION_URL = "https://www.openstreetmap.org/copyright"
BASEMAP_OFF = ("", "none", "off", "false", "no", "0")
TILE_PLACEHOLDERS = (("{z}", "{x}", "{y}"), ("{quadkey}",), ("{bbox-epsg-3857}",))


class Settings(BaseSettings):
    """Where the observatory lives and how it talks to its users."""

    model_config = SettingsConfigDict(env_prefix="INCLUSIVE_CITIES_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    lang: str | None = None
    data_dir: str = "./observatory-data"
    """Where large files live beside the database (census microdata as Parquet, exports)."""
    basemap_url: str = DEFAULT_BASEMAP_URL
    """Raster tiles under the web map ({z}/{x}/{y} template); "none" draws the units alone."""
    basemap_attribution: str | None = None
    """Credit the tile provider asks for (shown on the map); required for other tiles."""
    basemap_attribution_url: str | None = None
    """Where the credit links to (the provider's copyright page)."""
    public_url: str | None = None
    """The site's address seen from outside (https://...): root of absolute links."""
    trusted_proxies: str = ""
    """Reverse proxies (IPs or networks, comma separated) whose X-Forwarded-* are believed."""
    allowed_hosts: str = "localhost,127.0.0.1,::1"
    """Host names links may echo when ``public_url`` is not set."""


def get_settings() -> Settings:
    return Settings()


class ConfigError(InclusiveCitiesError):
    """A setting (environment variable) has a value the observatory cannot use."""


@dataclass(frozen=True)
class Basemap:
    """Raster tiles drawn under the web map, and the credit their provider requires."""

    url: str
    attribution: str
    attribution_url: str | None = None

    @property
    def origin(self) -> str:
        """scheme://host[:port] of the tiles: the only outside host the web page may reach."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


def get_basemap(settings: Settings | None = None) -> Basemap | None:
    """The configured basemap, None when switched off; a bad setting is a one-line error.

    Checked before the web starts, so that a typo in a URL template is not discovered as a
    grey map by the first visitor.
    """
    settings = settings or get_settings()
    url = settings.basemap_url.strip()
    if url.lower() in BASEMAP_OFF:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or "{" in parts.netloc:
        raise ConfigError(
            _(
                "INCLUSIVE_CITIES_BASEMAP_URL '{value}' is not a tile address on one host: give "
                "one such as https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png, or 'none' for "
                "no basemap."
            ).format(value=url[:200])
        )
    if not any(all(p in url for p in group) for group in TILE_PLACEHOLDERS):
        raise ConfigError(
            _(
                "INCLUSIVE_CITIES_BASEMAP_URL '{value}' has no {{z}}, {{x}} and {{y}} "
                "placeholders: give the tile template the provider documents."
            ).format(value=url[:200])
        )
    attribution = (settings.basemap_attribution or "").strip()
    link = (settings.basemap_attribution_url or "").strip() or None
    if not attribution and url == DEFAULT_BASEMAP_URL:
        attribution = DEFAULT_BASEMAP_ATTRIBUTION
        link = link or DEFAULT_BASEMAP_ATTRIBUTION_URL
    if not attribution:
        raise ConfigError(
            _(
                "INCLUSIVE_CITIES_BASEMAP_ATTRIBUTION is not set for the tiles of {host}: give "
                "the credit their provider requires (e.g. '© OpenStreetMap contributors')."
            ).format(host=parts.hostname)
        )
    if link is not None and urlsplit(link).scheme not in ("https", "http"):
        raise ConfigError(
            _(
                "INCLUSIVE_CITIES_BASEMAP_ATTRIBUTION_URL '{value}' is not a web address: give "
                "one starting with https://."
            ).format(value=link[:200])
        )
    return Basemap(url, attribution[:300], link)
