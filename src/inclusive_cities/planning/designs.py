"""Participatory design of a public space: the space's polygon, the workshops held, the design
options and the one chosen, and before and after photos.

Photos are kept in the store as blobs (JPEG, PNG or WebP recognised by their first bytes, at
most 5 MB each): a backup of the database is then the whole record, the web serves them without
a writable data folder, and the same photo added twice is stored once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, select

from inclusive_cities.i18n import gettext as _
from inclusive_cities.planning.territorial_plan import PlanError, city_id, plan_row
from inclusive_cities.store import transaction
from inclusive_cities.store.plan_models import (
    MAX_PHOTO_BYTES,
    PHOTO_STAGES,
    PublicSpaceDesign,
    PublicSpacePhoto,
    TerritorialPlan,
    TerritorialPlanItem,
)
from inclusive_cities.store.workshop_models import Workshop


@dataclass(frozen=True)
class PhotoInfo:
    id: int
    stage: str
    file_name: str
    content_type: str
    size_bytes: int
    caption: str


@dataclass(frozen=True)
class Design:
    """A participatory design as pages and reports show it."""

    code: str
    name: str
    plan: str
    item: str
    geometry: BaseGeometry | None
    workshop_codes: list[str]
    options: list[dict[str, str]]
    chosen_option: str
    notes: str
    photos: list[PhotoInfo]


def image_type(content: bytes) -> str | None:
    """The image's media type from its signature, or None when it is not JPEG, PNG or WebP."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def _polygon(value: Any) -> BaseGeometry | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = shapely.from_wkt(value)
        except shapely.errors.GEOSException:
            raise PlanError(
                _(
                    "The space's polygon '{value}' is not WKT: write POLYGON ((lon lat, ...))."
                ).format(value=value[:60])
            ) from None
    if not isinstance(value, BaseGeometry) or value.geom_type not in ("Polygon", "MultiPolygon"):
        raise PlanError(_("A public space is a polygon (EPSG:4326), not a point or a line."))
    minx, miny, maxx, maxy = value.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise PlanError(
            _("The space's polygon is not in longitude/latitude: reproject it to EPSG:4326.")
        )
    return value


def save_design(engine: Engine, city: str, fields: Mapping[str, Any]) -> str:
    """Record a participatory design (or update the one with the same code)."""
    code = str(fields.get("code") or "").strip()
    if not code:
        raise PlanError(_("A participatory design needs a code."))
    options = []
    for i, option in enumerate(fields.get("options") or []):
        option_code = str(option.get("code") or chr(ord("A") + i)).strip()
        options.append(
            {
                "code": option_code,
                "title": str(option.get("title") or "").strip(),
                "description": str(option.get("description") or "").strip(),
            }
        )
    chosen = str(fields.get("chosen_option") or "").strip()
    if chosen and chosen not in {o["code"] for o in options}:
        raise PlanError(
            _(
                "The chosen option '{chosen}' is not one of the design's options ({options})."
            ).format(chosen=chosen, options=", ".join(o["code"] for o in options) or "-")
        )
    geometry = _polygon(fields.get("geometry"))
    workshops = [str(w).strip() for w in fields.get("workshop_codes") or [] if str(w).strip()]
    with transaction(engine) as session:
        cid = city_id(session, city)
        held = set(
            session.scalars(
                select(Workshop.code).where(Workshop.city_id == cid, Workshop.code.in_(workshops))
            )
        )
        for workshop in workshops:
            if workshop not in held:
                raise PlanError(
                    _(
                        "{city} has no workshop '{code}': import it first with "
                        "'inclusive-cities workshop import'."
                    ).format(city=city, code=workshop)
                )
        item_id = None
        if fields.get("item"):
            plan = plan_row(session, city, str(fields.get("plan") or ""))
            item_id = session.scalar(
                select(TerritorialPlanItem.id).where(
                    TerritorialPlanItem.plan_id == plan.id,
                    TerritorialPlanItem.code == str(fields["item"]),
                )
            )
            if item_id is None:
                raise PlanError(
                    _("The plan {plan} has no project '{code}'.").format(
                        plan=plan.code, code=fields["item"]
                    )
                )
        row = session.scalar(
            select(PublicSpaceDesign).where(
                PublicSpaceDesign.city_id == cid, PublicSpaceDesign.code == code
            )
        )
        if row is None:
            row = PublicSpaceDesign(city_id=cid, code=code)
            session.add(row)
        row.name = str(fields.get("name") or "").strip()
        row.plan_item_id = item_id
        row.geometry = None if geometry is None else shapely.to_wkb(geometry)
        row.workshop_codes = workshops
        row.options = options
        row.chosen_option = chosen
        row.notes = str(fields.get("notes") or "").strip()
    return code


def add_photo(
    engine: Engine,
    city: str,
    design: str,
    photo: Path | str | bytes,
    *,
    stage: str,
    caption: str = "",
    file_name: str = "",
) -> int:
    """Keep a before/after photo of a design; returns its id (the same bytes: the same id)."""
    if stage not in PHOTO_STAGES:
        raise PlanError(
            _("'{stage}' is not a photo stage: use before or after.").format(stage=stage)
        )
    if isinstance(photo, bytes):
        content, name = photo, file_name or "photo"
    else:
        path = Path(photo)
        if not path.is_file():
            raise PlanError(_("The photo {file} does not exist: check the path.").format(file=path))
        if path.stat().st_size > MAX_PHOTO_BYTES:
            raise PlanError(
                _("{file} is {size} MB: photos may be at most 5 MB; save it smaller.").format(
                    file=path.name, size=round(path.stat().st_size / 1048576, 1)
                )
            )
        content, name = path.read_bytes(), file_name or path.name
    if len(content) > MAX_PHOTO_BYTES:
        raise PlanError(
            _("{file} is {size} MB: photos may be at most 5 MB; save it smaller.").format(
                file=name, size=round(len(content) / 1048576, 1)
            )
        )
    kind = image_type(content)
    if kind is None:
        raise PlanError(
            _("{file} is not a JPEG, PNG or WebP image: save the photo in one of those.").format(
                file=name
            )
        )
    digest = hashlib.sha256(content).hexdigest()
    with transaction(engine) as session:
        row = _design_row(session, city, design)
        existing = session.scalar(
            select(PublicSpacePhoto).where(
                PublicSpacePhoto.design_id == row.id, PublicSpacePhoto.sha256 == digest
            )
        )
        if existing is None:
            existing = PublicSpacePhoto(
                design_id=row.id,
                sha256=digest,
                content=content,
                size_bytes=len(content),
                content_type=kind,
            )
            session.add(existing)
        existing.stage = stage
        existing.caption = caption
        existing.file_name = Path(name).name
        session.flush()
        return int(existing.id)


def _design_row(session: Any, city: str, design: str) -> PublicSpaceDesign:
    row = session.scalar(
        select(PublicSpaceDesign).where(
            PublicSpaceDesign.city_id == city_id(session, city), PublicSpaceDesign.code == design
        )
    )
    if row is None:
        raise PlanError(
            _(
                "{city} has no participatory design '{code}': add it with 'plan designs add'."
            ).format(city=city, code=design)
        )
    return row


def list_designs(
    engine: Engine, city: str, plan: str | None = None, item: str | None = None
) -> list[Design]:
    """The city's designs (optionally only those of one plan, or of one plan project)."""
    with transaction(engine) as session:
        cid = city_id(session, city)
        query = (
            select(PublicSpaceDesign, TerritorialPlanItem.code, TerritorialPlan.code)
            .outerjoin(
                TerritorialPlanItem, TerritorialPlanItem.id == PublicSpaceDesign.plan_item_id
            )
            .outerjoin(TerritorialPlan, TerritorialPlan.id == TerritorialPlanItem.plan_id)
            .where(PublicSpaceDesign.city_id == cid)
            .order_by(PublicSpaceDesign.code)
        )
        if plan is not None:
            query = query.where(TerritorialPlan.id == plan_row(session, city, plan).id)
        if item is not None:
            query = query.where(TerritorialPlanItem.code == item)
        out = []
        for row, item_code, plan_code in session.execute(query).all():
            photos = session.execute(
                select(
                    PublicSpacePhoto.id,
                    PublicSpacePhoto.stage,
                    PublicSpacePhoto.file_name,
                    PublicSpacePhoto.content_type,
                    PublicSpacePhoto.size_bytes,
                    PublicSpacePhoto.caption,
                )
                .where(PublicSpacePhoto.design_id == row.id)
                .order_by(PublicSpacePhoto.stage.desc(), PublicSpacePhoto.id)
            ).all()
            out.append(
                Design(
                    code=row.code,
                    name=row.name,
                    plan=plan_code or "",
                    item=item_code or "",
                    geometry=None if row.geometry is None else shapely.from_wkb(row.geometry),
                    workshop_codes=list(row.workshop_codes or []),
                    options=[dict(o) for o in row.options or []],
                    chosen_option=row.chosen_option,
                    notes=row.notes,
                    photos=[PhotoInfo(*p) for p in photos],
                )
            )
    return out


def read_photo(engine: Engine, photo_id: int) -> tuple[bytes, str, str]:
    """A photo's bytes, media type and file name (for the web to serve it)."""
    with transaction(engine) as session:
        row = session.get(PublicSpacePhoto, photo_id)
        if row is None:
            raise PlanError(_("There is no photo {id}.").format(id=photo_id))
        return bytes(row.content), row.content_type, row.file_name
