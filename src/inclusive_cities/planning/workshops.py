"""Co-creation workshops (issue #17 §1): create, load and list them, and publish who took part.

A workshop is what facilitators bring back from a session with a community: its problem tree
(central problem, causes below, effects above) and its systematisation matrix (demands, causes,
territorial assets, integration differentials and solutions, per thematic area). Everything is
kept by code, so a re-import of the same workshop replaces it and plan projects keep pointing at
its solutions by ``(city, workshop code, solution code)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.planning.errors import PlanningError
from inclusive_cities.store import models
from inclusive_cities.store.models import TOTAL
from inclusive_cities.store.workshop_models import (
    MATRIX_KINDS,
    NODE_KINDS,
    PARTICIPANT_NATIONALITIES,
    Workshop,
    WorkshopMatrixRow,
    WorkshopParticipants,
    WorkshopTreeNode,
)

PARTICIPANT_DIMENSIONS = ("sex", "age_group", "nationality", "role")
"""Dimensions of the participant counts, published one at a time (one-way margins)."""
MIN_PUBLISHED_COUNT = 10
"""Disclosure threshold for participant counts (docs/disclosure.md: counts below 10 hidden)."""
CODE_PREFIX = {"demand": "D", "cause": "C", "asset": "A", "differential": "X", "solution": "S"}
"""Prefix of the codes given to matrix rows that arrive without one (solutions: S-01, …)."""


def _role_key(text: str) -> str:
    """A role folded for matching only: lower case, no accents, single spaces."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", text.strip().lower())
    return " ".join("".join(c for c in folded if not unicodedata.combining(c)).split())


def role_label(role: str) -> str:
    """A participant role in the current language when it is a known one, else as typed.

    Facilitators write roles freely ("líder comunitario", "Residente"); the store keeps their
    text and the pages translate the usual ones.
    """
    known = {
        "residente": _("resident"),
        "resident": _("resident"),
        "lider comunitario": _("community leader"),
        "lideresa comunitaria": _("community leader"),
        "community leader": _("community leader"),
        "lider": _("community leader"),
        "leader": _("community leader"),
        "funcionario": _("public official"),
        "funcionaria": _("public official"),
        "official": _("public official"),
        "public official": _("public official"),
    }
    return known.get(_role_key(role), role)


__all__ = [
    "MATRIX_KINDS",
    "NODE_KINDS",
    "PARTICIPANT_NATIONALITIES",
    "MatrixRow",
    "Participants",
    "SolutionRef",
    "TreeNode",
    "WorkshopData",
    "WorkshopError",
    "WorkshopSummary",
    "delete_workshop",
    "find_workshop",
    "list_solutions",
    "list_workshops",
    "load_workshop",
    "published_participants",
    "role_label",
    "save_workshop",
]


class WorkshopError(PlanningError):
    """A workshop cannot be found or saved as given (the message says what to fix)."""


@dataclass
class Participants:
    """How many people of one sex, age group, nationality group and role took part."""

    sex: str
    age_group: str
    nationality: str
    role: str
    count: int


@dataclass
class TreeNode:
    """A node of the problem tree; ``parent`` is the code of the node it hangs from."""

    code: str
    kind: str
    text: str
    parent: str | None = None
    position: int = 0
    areas: list[str] = field(default_factory=list)
    dimensions: list[str] = field(default_factory=list)
    indicators: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)


@dataclass
class MatrixRow:
    """A row of the systematisation matrix; ``solutions`` are the codes a demand/cause proposes."""

    code: str
    area: str
    kind: str
    text: str
    position: int = 0
    indicators: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    solutions: list[str] = field(default_factory=list)


@dataclass
class WorkshopData:
    """A whole workshop, as imported or loaded (``id`` and ``city_code`` once stored)."""

    code: str
    title: str = ""
    held_on: date | None = None
    unit_code: str = ""
    place_name: str = ""
    longitude: float | None = None
    latitude: float | None = None
    areas: list[str] = field(default_factory=list)
    facilitators: str = ""
    notes: str = ""
    participants: list[Participants] = field(default_factory=list)
    nodes: list[TreeNode] = field(default_factory=list)
    matrix: list[MatrixRow] = field(default_factory=list)
    id: int | None = None
    city_code: str = ""
    source_file: str = ""

    def central(self) -> TreeNode | None:
        """The central problem of the tree."""
        return next((n for n in self.nodes if n.kind == "central"), None)

    def children(self, code: str | None) -> list[TreeNode]:
        """Nodes hanging from ``code``, in their order."""
        return sorted((n for n in self.nodes if n.parent == code), key=lambda n: n.position)

    def total_participants(self) -> int:
        return sum(p.count for p in self.participants)


@dataclass(frozen=True)
class WorkshopSummary:
    """One line of a city's list of workshops."""

    id: int
    code: str
    title: str
    held_on: date | None
    unit_code: str
    areas: list[str]
    n_nodes: int
    n_rows: int
    n_solutions: int


@dataclass(frozen=True)
class SolutionRef:
    """A workshop solution that a plan project can answer (stable by workshop and code)."""

    workshop_id: int
    workshop_code: str
    code: str
    area: str
    text: str
    units: list[str]
    indicators: list[str]


def _city(session: Session, city_code: str) -> models.City:
    city = session.scalar(select(models.City).where(models.City.code == city_code))
    if city is None:
        known = ", ".join(session.scalars(select(models.City.code).order_by(models.City.code)))
        raise WorkshopError(
            _("City '{city}' is not in the store (cities: {known}): import it first.").format(
                city=city_code, known=known or "-"
            )
        )
    return city


def check_workshop(data: WorkshopData) -> None:
    """Refuse a workshop whose tree or matrix does not hold together (one line per problem)."""
    if not data.code.strip():
        raise WorkshopError(_("The workshop has no code: give it one (for example TALLER-01)."))
    codes = [n.code for n in data.nodes]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise WorkshopError(
            _("Problem-tree node code {code} is used twice: give each node its own code.").format(
                code=duplicates[0]
            )
        )
    central = [n for n in data.nodes if n.kind == "central"]
    if data.nodes and len(central) != 1:
        raise WorkshopError(
            _(
                "The problem tree of workshop {code} has {count} central problems: it needs "
                "exactly one."
            ).format(code=data.code, count=len(central))
        )
    by_code = {n.code: n for n in data.nodes}
    for node in data.nodes:
        if node.kind not in NODE_KINDS:
            raise WorkshopError(
                _("Node {code} has kind '{kind}': use one of {kinds}.").format(
                    code=node.code, kind=node.kind, kinds=", ".join(NODE_KINDS)
                )
            )
        if node.kind == "central":
            if node.parent:
                raise WorkshopError(
                    _("The central problem {code} cannot have a parent node.").format(
                        code=node.code
                    )
                )
            continue
        parent = by_code.get(node.parent or "")
        if parent is None:
            raise WorkshopError(
                _(
                    "Node {code} hangs from '{parent}', which is not a node of the tree: give "
                    "the code or row of an existing node."
                ).format(code=node.code, parent=node.parent or "")
            )
        if parent.kind not in ("central", node.kind):
            raise WorkshopError(
                _(
                    "Node {code} is a {kind} but hangs from {parent}, a {parent_kind}: causes "
                    "hang from the central problem or other causes, effects from the central "
                    "problem or other effects."
                ).format(
                    code=node.code, kind=node.kind, parent=parent.code, parent_kind=parent.kind
                )
            )
    _check_cycles(by_code)
    _check_matrix(data)


def _check_cycles(by_code: dict[str, TreeNode]) -> None:
    for start in by_code.values():
        seen = {start.code}
        node = start
        while node.parent:
            node = by_code[node.parent]
            if node.code in seen:
                raise WorkshopError(
                    _("Node {code} is its own ancestor: the tree has a loop.").format(
                        code=start.code
                    )
                )
            seen.add(node.code)


def _check_matrix(data: WorkshopData) -> None:
    codes = [r.code for r in data.matrix]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise WorkshopError(
            _("Matrix code {code} is used twice: give each row its own code.").format(
                code=duplicates[0]
            )
        )
    solutions = {r.code for r in data.matrix if r.kind == "solution"}
    for row in data.matrix:
        if row.kind not in MATRIX_KINDS:
            raise WorkshopError(
                _("Matrix row {code} has kind '{kind}': use one of {kinds}.").format(
                    code=row.code, kind=row.kind, kinds=", ".join(MATRIX_KINDS)
                )
            )
        unknown = [s for s in row.solutions if s not in solutions]
        if unknown:
            raise WorkshopError(
                _(
                    "Matrix row {code} proposes solution {solution}, which is not a solution "
                    "row of the matrix: add it or correct the code."
                ).format(code=row.code, solution=unknown[0])
            )


def save_workshop(
    session: Session,
    city_code: str,
    data: WorkshopData,
    *,
    source_file: str = "",
    batch_id: int | None = None,
) -> int:
    """Store a workshop, replacing the city's workshop with the same code; returns its id."""
    check_workshop(data)
    city = _city(session, city_code)
    old = session.scalar(
        select(Workshop).where(Workshop.city_id == city.id, Workshop.code == data.code)
    )
    if old is not None:
        delete_workshop(session, old.id)
    workshop = Workshop(
        city_id=city.id,
        code=data.code,
        title=data.title,
        held_on=data.held_on,
        unit_code=data.unit_code,
        place_name=data.place_name,
        longitude=data.longitude,
        latitude=data.latitude,
        areas=list(data.areas),
        facilitators=data.facilitators,
        notes=data.notes,
        source_file=source_file or data.source_file,
        batch_id=batch_id,
    )
    session.add(workshop)
    session.flush()
    for p in data.participants:
        session.add(
            WorkshopParticipants(
                workshop_id=workshop.id,
                sex=p.sex,
                age_group=p.age_group,
                nationality=p.nationality,
                role=p.role,
                count=p.count,
            )
        )
    ids: dict[str, int] = {}
    for node in _parents_first(data.nodes):
        row = WorkshopTreeNode(
            workshop_id=workshop.id,
            code=node.code,
            kind=node.kind,
            parent_id=ids[node.parent] if node.parent else None,
            position=node.position,
            text=node.text,
            areas=list(node.areas),
            dimensions=list(node.dimensions),
            indicators=list(node.indicators),
            units=list(node.units),
        )
        session.add(row)
        session.flush()
        ids[node.code] = row.id
    for r in data.matrix:
        session.add(
            WorkshopMatrixRow(
                workshop_id=workshop.id,
                code=r.code,
                area=r.area,
                kind=r.kind,
                position=r.position,
                text=r.text,
                indicators=list(r.indicators),
                units=list(r.units),
                solutions=list(r.solutions),
            )
        )
    session.flush()
    return workshop.id


def _parents_first(nodes: list[TreeNode]) -> list[TreeNode]:
    placed: set[str] = set()
    ordered: list[TreeNode] = []
    pending = list(nodes)
    while pending:
        ready = [n for n in pending if not n.parent or n.parent in placed]
        if not ready:
            raise WorkshopError(_("The problem tree has nodes that hang from nowhere."))
        for node in ready:
            ordered.append(node)
            placed.add(node.code)
        pending = [n for n in pending if n.code not in placed]
    return ordered


def delete_workshop(session: Session, workshop_id: int) -> None:
    """Remove a workshop with its participants, tree and matrix."""
    for table in (WorkshopMatrixRow, WorkshopParticipants):
        session.execute(delete(table).where(table.workshop_id == workshop_id))
    # children before parents, whatever the engine does with ON DELETE CASCADE
    nodes = session.execute(
        select(WorkshopTreeNode.id, WorkshopTreeNode.parent_id).where(
            WorkshopTreeNode.workshop_id == workshop_id
        )
    ).all()
    parent_of = dict(nodes)
    depth = {i: _depth(i, parent_of) for i in parent_of}
    for node_id in sorted(depth, key=lambda i: -depth[i]):
        session.execute(delete(WorkshopTreeNode).where(WorkshopTreeNode.id == node_id))
    session.execute(delete(Workshop).where(Workshop.id == workshop_id))
    session.flush()


def _depth(node_id: int, parent_of: dict[int, int | None]) -> int:
    depth = 0
    while parent_of.get(node_id) is not None:
        node_id = parent_of[node_id]  # type: ignore[assignment]
        depth += 1
    return depth


def load_workshop(session: Session, workshop_id: int) -> WorkshopData:
    """A stored workshop with its participants, tree and matrix."""
    workshop = session.get(Workshop, workshop_id)
    if workshop is None:
        raise WorkshopError(
            _("There is no workshop {id}: see `inclusive-cities workshop list`.").format(
                id=workshop_id
            )
        )
    city = session.get(models.City, workshop.city_id)
    nodes = session.scalars(
        select(WorkshopTreeNode)
        .where(WorkshopTreeNode.workshop_id == workshop_id)
        .order_by(WorkshopTreeNode.position, WorkshopTreeNode.id)
    ).all()
    code_of = {n.id: n.code for n in nodes}
    rows = session.scalars(
        select(WorkshopMatrixRow)
        .where(WorkshopMatrixRow.workshop_id == workshop_id)
        .order_by(WorkshopMatrixRow.position, WorkshopMatrixRow.id)
    ).all()
    people = session.scalars(
        select(WorkshopParticipants)
        .where(WorkshopParticipants.workshop_id == workshop_id)
        .order_by(WorkshopParticipants.id)
    ).all()
    return WorkshopData(
        id=workshop.id,
        city_code=city.code if city else "",
        code=workshop.code,
        title=workshop.title,
        held_on=workshop.held_on,
        unit_code=workshop.unit_code,
        place_name=workshop.place_name,
        longitude=workshop.longitude,
        latitude=workshop.latitude,
        areas=list(workshop.areas or []),
        facilitators=workshop.facilitators,
        notes=workshop.notes,
        source_file=workshop.source_file,
        participants=[
            Participants(p.sex, p.age_group, p.nationality, p.role, p.count) for p in people
        ],
        nodes=[
            TreeNode(
                code=n.code,
                kind=n.kind,
                text=n.text,
                parent=code_of.get(n.parent_id) if n.parent_id else None,
                position=n.position,
                areas=list(n.areas or []),
                dimensions=list(n.dimensions or []),
                indicators=list(n.indicators or []),
                units=list(n.units or []),
            )
            for n in nodes
        ],
        matrix=[
            MatrixRow(
                code=r.code,
                area=r.area,
                kind=r.kind,
                text=r.text,
                position=r.position,
                indicators=list(r.indicators or []),
                units=list(r.units or []),
                solutions=list(r.solutions or []),
            )
            for r in rows
        ],
    )


def find_workshop(session: Session, city_code: str, code: str) -> WorkshopData:
    """The workshop of a city by its code."""
    city = _city(session, city_code)
    workshop_id = session.scalar(
        select(Workshop.id).where(Workshop.city_id == city.id, Workshop.code == code)
    )
    if workshop_id is None:
        raise WorkshopError(
            _(
                "City {city} has no workshop {code}: see `inclusive-cities workshop list "
                "--city {city}`."
            ).format(city=city_code, code=code)
        )
    return load_workshop(session, workshop_id)


def list_workshops(session: Session, city_code: str) -> list[WorkshopSummary]:
    """The city's workshops, newest first, with the size of their tree and matrix."""
    city = _city(session, city_code)
    nodes = dict(
        session.execute(
            select(WorkshopTreeNode.workshop_id, func.count()).group_by(
                WorkshopTreeNode.workshop_id
            )
        ).all()
    )
    rows: dict[int, int] = {}
    solutions: dict[int, int] = {}
    for wid, kind, count in session.execute(
        select(WorkshopMatrixRow.workshop_id, WorkshopMatrixRow.kind, func.count()).group_by(
            WorkshopMatrixRow.workshop_id, WorkshopMatrixRow.kind
        )
    ):
        rows[wid] = rows.get(wid, 0) + count
        if kind == "solution":
            solutions[wid] = count
    workshops = session.scalars(
        select(Workshop)
        .where(Workshop.city_id == city.id)
        .order_by(Workshop.held_on.desc(), Workshop.code)
    ).all()
    return [
        WorkshopSummary(
            id=w.id,
            code=w.code,
            title=w.title,
            held_on=w.held_on,
            unit_code=w.unit_code,
            areas=list(w.areas or []),
            n_nodes=nodes.get(w.id, 0),
            n_rows=rows.get(w.id, 0),
            n_solutions=solutions.get(w.id, 0),
        )
        for w in workshops
    ]


def list_solutions(session: Session, city_code: str) -> list[SolutionRef]:
    """Every workshop solution of a city, for plan projects to answer."""
    city = _city(session, city_code)
    found = session.execute(
        select(WorkshopMatrixRow, Workshop.code)
        .join(Workshop, Workshop.id == WorkshopMatrixRow.workshop_id)
        .where(Workshop.city_id == city.id, WorkshopMatrixRow.kind == "solution")
        .order_by(Workshop.code, WorkshopMatrixRow.position, WorkshopMatrixRow.code)
    ).all()
    return [
        SolutionRef(
            workshop_id=row.workshop_id,
            workshop_code=code,
            code=row.code,
            area=row.area,
            text=row.text,
            units=list(row.units or []),
            indicators=list(row.indicators or []),
        )
        for row, code in found
    ]


def participant_margins(participants: list[Participants]) -> pd.DataFrame:
    """One-way margins of the participant counts: the total and one line per dimension.

    Columns ``sex``, ``age_group``, ``nationality``, ``role`` (``_T`` where not split) and
    ``n``: the long table with margins that the disclosure gate takes.
    """
    frame = pd.DataFrame(
        [(p.sex, p.age_group, p.nationality, p.role, p.count) for p in participants],
        columns=[*PARTICIPANT_DIMENSIONS, "n"],
    )
    rows = [dict.fromkeys(PARTICIPANT_DIMENSIONS, TOTAL) | {"n": int(frame["n"].sum())}]
    for dim in PARTICIPANT_DIMENSIONS:
        for category, count in frame.groupby(dim, sort=True)["n"].sum().items():
            rows.append(dict.fromkeys(PARTICIPANT_DIMENSIONS, TOTAL) | {dim: category, "n": count})
    return pd.DataFrame(rows, columns=[*PARTICIPANT_DIMENSIONS, "n"])


def published_participants(session: Session, workshop_id: int) -> pd.DataFrame:
    """Participant counts that may be shown to the public, after disclosure control.

    Only one-way margins are published (by sex, by age group, by nationality group, by role,
    and the total); counts under 10 are withheld, with secondary suppression so that no
    withheld count comes back by subtraction (the survey tables' gate, docs/disclosure.md).
    Columns: ``dimension`` (``total`` or the dimension), ``category``, ``count`` (empty when
    withheld) and ``status`` (``published``/``suppressed``).
    """
    from inclusive_cities.surveys.disclosure import suppress

    workshop = load_workshop(session, workshop_id)
    columns = ["dimension", "category", "count", "status"]
    if not workshop.participants:
        return pd.DataFrame(columns=columns)
    table = participant_margins(workshop.participants)
    protected = suppress(table, list(PARTICIPANT_DIMENSIONS), min_n=MIN_PUBLISHED_COUNT)
    hidden = protected["status"] == "suppressed"
    out = []
    for index, row in protected.iterrows():
        split = [d for d in PARTICIPANT_DIMENSIONS if row[d] != TOTAL]
        dimension = split[0] if split else "total"
        out.append(
            {
                "dimension": dimension,
                "category": row[dimension] if split else TOTAL,
                "count": pd.NA if hidden[index] else int(row["n"]),
                "status": "suppressed" if hidden[index] else "published",
            }
        )
    frame = pd.DataFrame(out, columns=columns)
    frame["count"] = frame["count"].astype("Int64")
    return frame
