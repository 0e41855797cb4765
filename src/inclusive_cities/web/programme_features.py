"""The centres network as an OGC API Features collection (``/ogc/collections/centres``).

The Social Integration and Habitat Co-creation Centres are organisations with a public address,
so their registry is served as it stands (no counts of people); the collection appears once
the network has a centre, and its fingerprint follows every centre's last change.
"""

from __future__ import annotations

import hashlib

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.monitoring.centres import COLLECTION_ID, centre_properties, list_centres
from inclusive_cities.store.delivery_models import DeliveryCentre
from inclusive_cities.web import data
from inclusive_cities.web.feature_collections import Feature, FeatureCollectionInfo, register


class ProgrammeCentres:
    """Source of the ``centres`` collection."""

    name = "programme-centres"

    def fingerprint(self, session: Session) -> str:
        # asked on every OGC request: compiled once (data.fixed_query), not rebuilt each time
        rows = data.fixed_query(
            session,
            "programme-centres-fingerprint",
            lambda: select(DeliveryCentre.id, DeliveryCentre.updated_at).order_by(
                DeliveryCentre.id
            ),
        ).all()
        return hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()[:16]

    def collections(self, session: Session) -> list[FeatureCollectionInfo]:
        if session.scalar(select(DeliveryCentre.id).limit(1)) is None:
            return []
        return [
            FeatureCollectionInfo(
                id=COLLECTION_ID,
                title_es=_("Social Integration and Habitat Co-creation Centres", "es"),
                title_en=_("Social Integration and Habitat Co-creation Centres", "en"),
                description_es=_(
                    "The centres network: place, services, opening hours, contact, status and "
                    "the self-assessment against each principle of the declaration (1 to 4).",
                    "es",
                ),
                description_en=_(
                    "The centres network: place, services, opening hours, contact, status and "
                    "the self-assessment against each principle of the declaration (1 to 4).",
                    "en",
                ),
            )
        ]

    def features(self, session: Session, collection_id: str) -> list[Feature]:
        if collection_id != COLLECTION_ID:
            return []
        engine = session.get_bind()
        return [
            Feature(
                fid=centre.code,
                geometry=shapely.Point(centre.lon, centre.lat),
                properties=centre_properties(centre, "es"),
            )
            for centre in list_centres(engine)  # type: ignore[arg-type]
        ]


register(ProgrammeCentres())
