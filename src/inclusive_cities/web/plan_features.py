"""The projects of every published territorial intervention plan as OGC API collections
(points or polygons any GIS reads), through :mod:`inclusive_cities.web.feature_collections`.

Only public fields leave the store: code, name, type, status, cost, funding, dates, targeted
areas, units and the workshop solutions answered. Projects without a site are left out.
"""

from __future__ import annotations

import hashlib

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import models
from inclusive_cities.store.plan_models import TerritorialPlan, TerritorialPlanItem
from inclusive_cities.web import data
from inclusive_cities.web.feature_collections import Feature, FeatureCollectionInfo, register


def collection_id(city: str, plan: str) -> str:
    """The OGC id of a plan's projects: ``plan-<city>-<plan>`` in lower case."""
    return data.slug(f"plan-{city}-{plan}")


class PlanProjects:
    """Published plans' projects, one collection per plan."""

    name = "territorial-plans"

    def fingerprint(self, session: Session) -> str:
        plan, item = TerritorialPlan, TerritorialPlanItem
        # asked on every OGC request: compiled once (data.fixed_query), not rebuilt each time
        rows = data.fixed_query(
            session,
            "plan-projects-fingerprint",
            lambda: (
                select(
                    plan.id,
                    plan.code,
                    plan.name,
                    plan.period,
                    plan.published,
                    plan.updated_at,
                    func.count(item.id),
                )
                .outerjoin(item, item.plan_id == plan.id)
                .group_by(
                    plan.id, plan.code, plan.name, plan.period, plan.published, plan.updated_at
                )
                .order_by(plan.id)
            ),
        ).all()
        return hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()[:16]

    def _plans(self, session: Session) -> list[tuple[TerritorialPlan, models.City]]:
        return [
            (p, c)
            for p, c in session.execute(
                select(TerritorialPlan, models.City)
                .join(models.City, models.City.id == TerritorialPlan.city_id)
                .order_by(models.City.code, TerritorialPlan.code)
            ).all()
        ]

    def collections(self, session: Session) -> list[FeatureCollectionInfo]:
        out = []
        for plan, city in self._plans(session):
            title = plan.name or plan.code
            out.append(
                FeatureCollectionInfo(
                    id=collection_id(city.code, plan.code),
                    title_es=_("Projects — {plan} — {city} — {period}", "es").format(
                        plan=title, city=city.name, period=plan.period
                    ),
                    title_en=_("Projects — {plan} — {city} — {period}", "en").format(
                        plan=title, city=city.name, period=plan.period
                    ),
                    description_es=_(
                        "Territorial intervention plan: projects with their status, cost and "
                        "funding, dates and the workshop solutions they answer.",
                        "es",
                    ),
                    description_en=_(
                        "Territorial intervention plan: projects with their status, cost and "
                        "funding, dates and the workshop solutions they answer.",
                        "en",
                    ),
                    city_code=city.code,
                    city_name=city.name,
                    period=plan.period,
                    synthetic=bool(city.is_synthetic),
                    public=bool(plan.published),
                )
            )
        return out

    def features(self, session: Session, collection_id_: str) -> list[Feature]:
        found = next(
            (
                (p, c)
                for p, c in self._plans(session)
                if collection_id(c.code, p.code) == collection_id_
            ),
            None,
        )
        if found is None or not found[0].published:
            return []
        plan, city = found
        items = session.scalars(
            select(TerritorialPlanItem)
            .where(TerritorialPlanItem.plan_id == plan.id)
            .order_by(TerritorialPlanItem.code)
        ).all()
        out = []
        for item in items:
            if item.geometry is None:
                continue
            out.append(
                Feature(
                    fid=item.code,
                    geometry=shapely.from_wkb(item.geometry),
                    properties={
                        "code": item.code,
                        "name": item.name or "",
                        "type": item.type,
                        "status": item.status,
                        "cost": float(item.cost or 0.0),
                        "funding_source": item.funding_source or "",
                        "start_date": item.start_date.isoformat() if item.start_date else None,
                        "end_date": item.end_date.isoformat() if item.end_date else None,
                        "targets": "; ".join(item.targets or []),
                        "units": "; ".join(item.unit_codes or []),
                        "solutions": "; ".join(item.solution_codes or []),
                        "plan": plan.code,
                        "city": city.code,
                    },
                )
            )
        return out


register(PlanProjects())
