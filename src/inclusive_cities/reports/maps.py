"""Static maps for printed reports (GeoPandas + matplotlib, no tiles, no network)."""

from __future__ import annotations

import base64
import io

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Patch

MISSING_COLOUR = "#d9d9d9"


def _projected(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is None or not frame.crs.is_geographic or frame.empty:
        return frame
    return frame.to_crs(frame.estimate_utm_crs())


def _png(figure: plt.Figure, dpi: int) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.05)
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def level_map(
    units: gpd.GeoDataFrame,
    level_column: str,
    levels: list[tuple[str, str, str]],
    missing_label: str,
    size: tuple[float, float] = (7.0, 6.0),
    dpi: int = 130,
    outline: gpd.GeoDataFrame | None = None,
) -> str:
    """Choropleth of performance levels; ``levels`` = (code, label, colour), best first."""
    frame = _projected(units)
    colours = {code: colour for code, _label, colour in levels}
    figure, axis = plt.subplots(figsize=size)
    face = frame[level_column].map(colours).fillna(MISSING_COLOUR)
    frame.plot(ax=axis, color=face, edgecolor="white", linewidth=0.3)
    if outline is not None and not outline.empty:
        _projected(outline).boundary.plot(ax=axis, color="#333333", linewidth=0.8)
    present = set(frame[level_column].dropna())
    handles = [
        Patch(facecolor=colour, edgecolor="#999", label=label)
        for code, label, colour in levels
        if code in present
    ]
    if frame[level_column].isna().any():
        handles.append(Patch(facecolor=MISSING_COLOUR, edgecolor="#999", label=missing_label))
    axis.legend(
        handles=handles, loc="lower left", bbox_to_anchor=(1.01, 0.0), fontsize=8, frameon=False
    )
    axis.set_axis_off()
    axis.set_aspect("equal")
    return _png(figure, dpi)


class LocatorMaps:
    """Where each unit lies in the city: the city drawn once, one highlighted unit per image."""

    def __init__(
        self,
        units: gpd.GeoDataFrame,
        id_column: str = "unit_id",
        size: tuple[float, float] = (3.0, 2.5),
        dpi: int = 100,
    ) -> None:
        self.units = units.set_index(id_column)
        self.dpi = dpi
        self.figure, self.axis = plt.subplots(figsize=size)
        self.units.plot(ax=self.axis, color="#e3e3e3", edgecolor="white", linewidth=0.2)
        self.axis.set_axis_off()
        self.axis.set_aspect("equal")
        self.axis.autoscale(False)

    def __call__(self, unit_id: object) -> str:
        before = set(self.axis.collections)
        gpd.GeoSeries([self.units.geometry.loc[unit_id]], crs=self.units.crs).plot(
            ax=self.axis, color="#c0392b", edgecolor="#7b241c", linewidth=0.6
        )
        buffer = io.BytesIO()
        self.figure.savefig(
            buffer, format="png", dpi=self.dpi, bbox_inches="tight", pad_inches=0.05
        )
        for artist in set(self.axis.collections) - before:
            artist.remove()
        return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")

    def close(self) -> None:
        plt.close(self.figure)
