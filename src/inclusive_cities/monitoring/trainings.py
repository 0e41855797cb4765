"""Training sessions, their participants, and how many improved their knowledge (with a 95 % CI).

"About 94 % of public officials trained report improved knowledge" is an estimate from the people
who took both the pre and the post assessment, so it is published with an interval. We use the
Wilson score interval (statsmodels ``proportion_confint(method="wilson")``): unlike the Wald
interval it stays inside [0, 1] and keeps its coverage near 94 % with a few dozen people. People
in one session share a facilitator and a day, so their answers are not independent: the interval
is widened by the design effect of the sessions (the cluster-robust, linearised variance of the
ratio over the binomial one, never below 1), using Wilson on the effective sample size
``n / deff`` (Korn and Graubard 1998). With one person per session it is the plain Wilson interval.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.monitoring.delivery_import import (
    Field,
    ImportResult,
    Sheet,
    has_sheet,
    new_batch,
    problem,
    read_rows,
    unique_codes,
    upsert_by_code,
)
from inclusive_cities.monitoring.people import NATIONALITY_NAMES, SEX_NAMES, protect_counts
from inclusive_cities.store import transaction
from inclusive_cities.store.delivery_models import (
    AUDIENCES,
    TOPICS,
    DeliveryParticipant,
    DeliveryTraining,
)

TOPIC_NAMES: dict[str, tuple[str, ...]] = {
    "human_mobility": ("movilidad humana", "human mobility"),
    "mgi": ("mgi", "indicadores de gobernanza migratoria", "migration governance"),
    "protection": ("protección", "protection"),
    "inclusive_planning": ("planificación inclusiva", "inclusive planning"),
    "socioeconomic_integration": ("integración socioeconómica", "socio-economic integration"),
    "entrepreneurship": ("emprendimiento", "entrepreneurship"),
    "conflict_resolution": ("resolución de conflictos", "conflict resolution"),
    "gender_based_violence": ("violencia basada en género", "vbg", "gbv", "gender-based violence"),
    "leadership": ("liderazgo", "leadership"),
    "self_construction": ("autoconstrucción", "self-construction", "self construction"),
    "other": ("otro", "otra", "other"),
}
AUDIENCE_NAMES: dict[str, tuple[str, ...]] = {
    "public_servants": ("servidores públicos", "funcionarios", "public servants", "officials"),
    "community": ("comunidad", "community"),
}
TRAININGS_SHEET = Sheet(en="trainings", es="capacitaciones")
PARTICIPANTS_SHEET = Sheet(en="participants", es="participantes")


def training_fields() -> tuple[Field, ...]:
    """The columns of the trainings sheet."""
    return (
        Field("code", "code", "código", required=True),
        Field("target_city", "target_city", "ciudad", "city", required=True),
        Field("topic", "topic", "tema", "choice", True, TOPIC_NAMES),
        Field("audience", "audience", "público", "choice", True, AUDIENCE_NAMES),
        Field("title", "title", "título"),
        Field("held_on", "date", "fecha", "date", required=True),
        Field("hours", "hours", "horas", "number"),
    )


def participant_fields() -> tuple[Field, ...]:
    """The columns of the participants sheet: anonymous ids, never names."""
    return (
        Field("training", "training", "capacitación", required=True),
        Field("participant", "participant", "participante", required=True),
        Field("sex", "sex", "sexo", "choice", False, SEX_NAMES),
        Field("age_group", "age_group", "grupo_edad"),
        Field("nationality", "nationality", "nacionalidad", "choice", False, NATIONALITY_NAMES),
        Field("pre_score", "pre_score", "puntaje_pre", "number"),
        Field("post_score", "post_score", "puntaje_post", "number"),
    )


def topic_label(topic: str, lang: str = "en") -> str:
    """A training topic as readers see it."""
    return {
        "human_mobility": _("human mobility", lang),
        "mgi": _("migration governance (MGI)", lang),
        "protection": _("protection", lang),
        "inclusive_planning": _("inclusive planning", lang),
        "socioeconomic_integration": _("socio-economic integration", lang),
        "entrepreneurship": _("entrepreneurship", lang),
        "conflict_resolution": _("conflict resolution", lang),
        "gender_based_violence": _("gender-based violence", lang),
        "leadership": _("leadership", lang),
        "self_construction": _("self-construction", lang),
        "other": _("other topic", lang),
    }.get(topic, topic)


def audience_label(audience: str, lang: str = "en") -> str:
    """A training audience as readers see it."""
    if audience == "public_servants":
        return _("public servants", lang)
    return _("community members", lang)


def import_trainings(
    engine: Engine, path: Path | str, participants: Path | str | None = None
) -> ImportResult:
    """Import sessions (and their participants, from the same workbook or a second file) in one
    transaction; a session's code and a participant's id within it are the keys, so a second
    import updates instead of doubling."""
    with transaction(engine) as session:
        return import_trainings_in(session, path, participants)


def import_trainings_in(
    session: Session, path: Path | str, participants: Path | str | None = None
) -> ImportResult:
    """The same import inside the caller's transaction (a whole workbook is one)."""
    created = updated = 0
    rows = read_rows(path, training_fields(), TRAININGS_SHEET, session)
    batch = new_batch(session, "delivery_trainings", path, rows)
    for record, number, code in unique_codes(rows):
        values = {
            "target_city_id": record["target_city"],
            "topic": record["topic"],
            "audience": record["audience"],
            "title": record["title"] or "",
            "held_on": record["held_on"],
            "hours": record["hours"],
            "batch_id": batch.id,
        }
        hours = record["hours"]
        if isinstance(hours, float) and hours <= 0:
            raise problem(
                rows.file, number, rows.column("hours"), str(hours), _("must be more than 0.")
            )
        if upsert_by_code(session, DeliveryTraining, code, values):
            created += 1
        else:
            updated += 1
    session.flush()
    source = participants if participants is not None else path
    if participants is not None or has_sheet(path, PARTICIPANTS_SHEET):
        _import_participants(session, source)
    return ImportResult("trainings", created, updated, batch.id)


def _import_participants(session: Session, path: Path | str) -> None:
    rows = read_rows(path, participant_fields(), PARTICIPANTS_SHEET, session)
    sessions = {t.code: t for t in session.scalars(select(DeliveryTraining))}
    stored = {
        (p.training_id, p.participant): p for p in session.scalars(select(DeliveryParticipant))
    }
    seen: dict[tuple[int, str], int] = {}
    for record, number in zip(rows.records, rows.numbers, strict=True):
        training = sessions.get(str(record["training"]))
        if training is None:
            raise problem(
                rows.file,
                number,
                rows.column("training"),
                str(record["training"]),
                _("is not the code of a training session: add the session to the trainings sheet."),
            )
        for key in ("pre_score", "post_score"):
            score = record[key]
            if isinstance(score, float) and not 0 <= score <= 100:
                raise problem(
                    rows.file,
                    number,
                    rows.column(key),
                    str(score),
                    _("is not a score from 0 to 100: rescale it, or leave it empty."),
                )
        values = {
            "sex": record["sex"] or "unknown",
            "age_group": record["age_group"] or "",
            "nationality": record["nationality"] or "unknown",
            "pre_score": record["pre_score"],
            "post_score": record["post_score"],
        }
        pair = (training.id, str(record["participant"]))
        if pair in seen:
            raise problem(
                rows.file,
                number,
                rows.column("participant"),
                pair[1],
                _("is listed twice for this session (also row {other}); keep one.").format(
                    other=seen[pair]
                ),
            )
        seen[pair] = number
        existing = stored.get(pair)
        if existing is None:
            session.add(DeliveryParticipant(training_id=pair[0], participant=pair[1], **values))
        else:
            for name, value in values.items():
                setattr(existing, name, value)
    session.flush()


def people_trained(
    engine: Engine, *, audience: str | None = None, target_city_id: int | None = None
) -> int:
    """Different people trained: an id counts once in a city however many sessions it attended."""
    if audience is not None and audience not in AUDIENCES:
        raise ValueError(audience)
    query = (
        select(DeliveryTraining.target_city_id, DeliveryParticipant.participant)
        .join(DeliveryTraining, DeliveryParticipant.training_id == DeliveryTraining.id)
        .distinct()
    )
    if audience is not None:
        query = query.where(DeliveryTraining.audience == audience)
    if target_city_id is not None:
        query = query.where(DeliveryTraining.target_city_id == target_city_id)
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        )


@dataclass(frozen=True)
class KnowledgeEstimate:
    """The share of assessed participants whose post score beat their pre score, with its CI."""

    assessed: int
    improved: int
    sessions: int
    share: float | None
    low: float | None
    high: float | None
    design_effect: float
    method: str = "wilson-design-effect"


def wilson_with_design_effect(
    counts: list[tuple[int, int]], alpha: float = 0.05
) -> tuple[float, float, float, float]:
    """(share, low, high, deff) from (improved, assessed) per session."""
    from statsmodels.stats.proportion import proportion_confint

    total = sum(n for _y, n in counts)
    improved = sum(y for y, _n in counts)
    share = improved / total
    deff = 1.0
    clusters = len(counts)
    if clusters > 1 and 0 < share < 1:
        residuals = sum((y - share * n) ** 2 for y, n in counts)
        cluster_variance = clusters / (clusters - 1) * residuals / total**2
        deff = max(1.0, cluster_variance / (share * (1 - share) / total))
    effective = total / deff
    low, high = proportion_confint(share * effective, effective, alpha=alpha, method="wilson")
    return share, float(low), float(high), deff


def improved_knowledge(
    engine: Engine,
    *,
    audience: str | None = "public_servants",
    target_city_id: int | None = None,
    target_city_ids: list[int] | None = None,
) -> KnowledgeEstimate:
    """The estimated share with improved knowledge (post > pre) and its 95 % interval
    (``target_city_ids``: pooled over these target cities)."""
    query = (
        select(DeliveryTraining.id, DeliveryParticipant.pre_score, DeliveryParticipant.post_score)
        .join(DeliveryTraining, DeliveryParticipant.training_id == DeliveryTraining.id)
        .where(DeliveryParticipant.pre_score.is_not(None))
        .where(DeliveryParticipant.post_score.is_not(None))
    )
    if audience is not None:
        query = query.where(DeliveryTraining.audience == audience)
    if target_city_id is not None:
        query = query.where(DeliveryTraining.target_city_id == target_city_id)
    if target_city_ids is not None:
        query = query.where(DeliveryTraining.target_city_id.in_(target_city_ids))
    by_session: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    with engine.connect() as connection:
        for training_id, pre, post in connection.execute(query):
            by_session[training_id][0] += int(post is not None and pre is not None and post > pre)
            by_session[training_id][1] += 1
    counts = [(y, n) for y, n in by_session.values()]
    if not counts:
        return KnowledgeEstimate(0, 0, 0, None, None, None, 1.0)
    share, low, high, deff = wilson_with_design_effect(counts)
    return KnowledgeEstimate(
        assessed=sum(n for _y, n in counts),
        improved=sum(y for y, _n in counts),
        sessions=len(counts),
        share=share,
        low=low,
        high=high,
        design_effect=deff,
    )


@dataclass(frozen=True)
class TopicRow:
    """Sessions and people trained for one topic and audience, by sex and nationality."""

    topic: str
    audience: str
    sessions: int
    people: int | None
    by_sex: dict[str, int | None]
    by_nationality: dict[str, int | None]


def trainings_by_topic(engine: Engine, *, target_city_id: int | None = None) -> list[TopicRow]:
    """Counts by topic and audience (raw: publish them through :func:`protect_counts`)."""
    query = select(
        DeliveryTraining.id,
        DeliveryTraining.topic,
        DeliveryTraining.audience,
        DeliveryTraining.target_city_id,
        DeliveryParticipant.participant,
        DeliveryParticipant.sex,
        DeliveryParticipant.nationality,
    ).outerjoin(DeliveryParticipant, DeliveryParticipant.training_id == DeliveryTraining.id)
    if target_city_id is not None:
        query = query.where(DeliveryTraining.target_city_id == target_city_id)
    sessions: dict[tuple[str, str], set[int]] = defaultdict(set)
    people: dict[tuple[str, str], dict[tuple[int, str], tuple[str, str]]] = defaultdict(dict)
    with engine.connect() as connection:
        for tid, topic, audience, city, participant, sex, nationality in connection.execute(query):
            sessions[(topic, audience)].add(tid)
            if participant is not None:
                people[(topic, audience)][(city, participant)] = (sex, nationality)
    rows = []
    for key in sorted(sessions, key=lambda k: (TOPICS.index(k[0]), AUDIENCES.index(k[1]))):
        persons = people.get(key, {})
        by_sex: dict[str, int] = defaultdict(int)
        by_nationality: dict[str, int] = defaultdict(int)
        for sex, nationality in persons.values():
            by_sex[sex] += 1
            by_nationality[nationality] += 1
        rows.append(
            TopicRow(
                key[0], key[1], len(sessions[key]), len(persons), dict(by_sex), dict(by_nationality)
            )
        )
    return rows


def published_trainings_by_topic(
    engine: Engine, *, target_city_id: int | None = None
) -> list[TopicRow]:
    """:func:`trainings_by_topic` as a public page may show it: a topic's people under the
    disclosure threshold are withheld (None), and its breakdowns go through ``protect_counts``."""
    from inclusive_cities.disclosure import Rules, control_enabled

    threshold = Rules().threshold if control_enabled() else 0
    return [
        TopicRow(
            row.topic,
            row.audience,
            row.sessions,
            row.people if not row.people or row.people >= threshold else None,
            protect_counts({k: v or 0 for k, v in row.by_sex.items()}),
            protect_counts({k: v or 0 for k, v in row.by_nationality.items()}),
        )
        for row in trainings_by_topic(engine, target_city_id=target_city_id)
    ]
