"""The audit: run every attack against exactly what the web would serve for a city.

Published figures are gathered through the web's own read functions (the JSON API's
observation and score routes, the totals behind pages, maps, OGC collections and
downloads), never re-derived, so a figure the web serves cannot escape the audit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from inclusive_cities.disclosure.attacks import (
    LINKED_TABLE,
    LP_INTERVAL,
    NORMALISED_INVERSE,
    PARENT_MINUS_CHILDREN,
    SHARE_TIMES_TOTAL,
    SUM_OF_PARTS,
    TOTAL_MINUS_PARTS,
    Finding,
    ScoreCell,
    differencing,
    lp_intervals,
    normalised_inverse,
    share_times_total,
)
from inclusive_cities.disclosure.bands import band_bounds, rate_bands
from inclusive_cities.disclosure.derived import (
    COMBINED_DIFFERENCE,
    ENTROPY_INVERSION,
    UPSTREAM_DIFFERENCE,
    combined_differencing,
    entropy_inversion,
)
from inclusive_cities.disclosure.errors import DisclosureError
from inclusive_cities.disclosure.model import (
    Cell,
    Key,
    Published,
    Relation,
    always_hidden,
    describe,
)
from inclusive_cities.disclosure.publication import Protection, protection
from inclusive_cities.disclosure.rules import TOTAL, Rules, control_enabled
from inclusive_cities.disclosure.secondary import _components
from inclusive_cities.disclosure.served import (
    indicator_observations,
    published_columns,
    run_scores,
    served_totals,
)
from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _
from inclusive_cities.progress import ProgressCallback, quiet_progress
from inclusive_cities.specview import stored_spec
from inclusive_cities.store import models
from inclusive_cities.store.web_models import PublishedLayer

PAGE = 50000
BELOW_THRESHOLD = "published below the threshold"
CLUSTER_INPUT = "a published cluster layer rests on it"


@dataclass
class AuditReport:
    """Every recoverable cell of a city, with how, and what was checked."""

    city: str
    control: bool
    findings: list[Finding] = field(default_factory=list)
    unit_codes: dict[int, str] = field(default_factory=dict)
    published_figures: int = 0
    published_scores: int = 0
    hidden_cells: int = 0
    protected_cells: int = 0
    seconds: float = 0.0

    @property
    def cells(self) -> set[Key]:
        return {f.key for f in self.findings}

    def by_attack(self) -> dict[str, int]:
        out: dict[str, set[Key]] = {}
        for finding in self.findings:
            out.setdefault(finding.attack, set()).add(finding.key)
        return {attack: len(keys) for attack, keys in sorted(out.items())}

    def summary(self) -> str:
        """One line: what was checked and how many cells come back."""
        return _(
            "{city}: {figures} published figures and {scores} scores checked; {hidden} hidden "
            "cells, {protected} needing protection; {found} recoverable ({seconds} s)."
        ).format(  # numbers as the reader's language writes them (261.528; 19,1 s: F11)
            city=self.city,
            figures=format_number(self.published_figures),
            scores=format_number(self.published_scores),
            hidden=format_number(self.hidden_cells),
            protected=format_number(self.protected_cells),
            found=format_number(len(self.cells)),
            seconds=format_number(self.seconds, 1),
        )

    def text(self) -> str:
        """The whole audit as the CLI prints it and the admin area shows it."""
        lines = [self.line(f) for f in self.findings] + [self.summary()]
        lines += [
            _("  {attack}: {count} cells").format(attack=attack_name(attack), count=count)
            for attack, count in self.by_attack().items()
        ]
        return "\n".join(lines)

    def line(self, finding: Finding) -> str:
        """One finding as the audit prints it."""
        recovered = f"{finding.low:g}" if finding.exact else f"[{finding.low:g}, {finding.high:g}]"
        return _("{cell}: {attack} gives {recovered} (true value {truth:g}) from {via}").format(
            cell=describe(finding.key, self.unit_codes),
            attack=attack_name(finding.attack),
            recovered=recovered,
            truth=finding.truth,
            via=", ".join(
                v if isinstance(v, str) else describe(v, self.unit_codes) for v in finding.via[:4]
            )
            + (" …" if len(finding.via) > 4 else ""),
        )


def attack_name(attack: str) -> str:
    """An attack as the reader's language names it (findings keep the English identifier)."""
    names = {
        SHARE_TIMES_TOTAL: _("share × total"),
        TOTAL_MINUS_PARTS: _("total − parts"),
        SUM_OF_PARTS: _("sum of parts"),
        PARENT_MINUS_CHILDREN: _("parent − visible children"),
        LINKED_TABLE: _("linked table"),
        NORMALISED_INVERSE: _("inverse of normalised score"),
        LP_INTERVAL: _("LP interval"),
        ENTROPY_INVERSION: _("entropy of a partition's counts"),
        UPSTREAM_DIFFERENCE: _("n by subtraction (cell suppressed upstream)"),
        COMBINED_DIFFERENCE: _("sum of hidden groups by subtraction"),
        BELOW_THRESHOLD: _("published below the threshold"),
        CLUSTER_INPUT: _("a published cluster layer rests on it"),
    }
    return names.get(attack, attack)


def published_figures(session: Session, city: models.City) -> Published:
    """Values and n of every observation the API, pages, maps and downloads serve.

    Read in two queries through the served read model: the API's rows (every page of
    :func:`served.published_observations` at once) and the totals behind pages, maps, OGC
    collections and downloads (:func:`served.indicator_observations` of every published
    layer and spec indicator)."""
    codes = {
        int(i): str(c)
        for i, c in session.execute(select(models.Indicator.id, models.Indicator.code))
    }
    periods = {
        int(i): str(c) for i, c in session.execute(select(models.Period.id, models.Period.code))
    }
    values: dict[Key, float] = {}
    counts: dict[Key, int] = {}
    for indicator, unit, period, sex, age, nationality, value, n in published_columns(
        session, city.id
    ):
        key: Key = (codes[indicator], unit, periods[period], sex, age, nationality)
        values[key] = value
        if n is not None:
            counts[key] = int(n)
    # unit pages also show the indicators of a published run's spec whether or not their
    # layer is published
    layers = session.execute(
        select(PublishedLayer.indicator_id, PublishedLayer.period_id).where(
            PublishedLayer.city_id == city.id
        )
    ).all()
    wanted = {(int(i), int(p)) for i, p in layers}
    for run in _published_runs(session, city.id):
        spec = stored_spec(run)
        for node in spec.indicators() if spec else []:
            shown = session.scalar(
                select(models.Indicator.id).where(models.Indicator.code == node.code)
            )
            if shown is not None:
                wanted.add((int(shown), int(run.period_id)))
    for indicator_id, period_id, unit, value, n in served_totals(session, city.id, wanted):
        key = (codes[indicator_id], unit, periods[period_id], TOTAL, TOTAL, TOTAL)
        values[key] = value
        if n is not None:
            counts[key] = int(n)
    return Published(values, counts)


def _published_runs(session: Session, city_id: int) -> list[models.MarkerRun]:
    return list(
        session.scalars(
            select(models.MarkerRun).where(
                models.MarkerRun.city_id == city_id, models.MarkerRun.published.is_(True)
            )
        )
    )


def published_scores(session: Session, city: models.City) -> tuple[list[ScoreCell], dict[int, str]]:
    """Every score the API serves for the city's published runs, with the page's goalposts."""
    cells: list[ScoreCell] = []
    periods: dict[int, str] = {}
    for run in _published_runs(session, city.id):
        period = session.get(models.Period, run.period_id)
        assert period is not None
        periods[run.id] = period.code
        spec = stored_spec(run)
        nodes = {n.code: n for n in spec.nodes} if spec else {}
        scale = (spec.scale_lower, spec.scale_upper) if spec else (0.0, 100.0)
        served = run_scores(session, run.id)  # what the API, maps and rankings serve
        for j, code in enumerate(served.nodes):
            node = nodes.get(code)
            cells.extend(
                ScoreCell(
                    run=run.id,
                    node=code,
                    unit=int(unit),
                    score=None if np.isnan(score) else float(score),
                    lower=node.benchmark_lower if node else None,
                    upper=node.benchmark_upper if node else None,
                    direction=(node.direction if node else "") or "higher_is_better",
                    scale=scale,
                )
                for unit, score in zip(served.unit_ids, served.scores[:, j], strict=True)
            )
    return cells, periods


def audit(
    session: Session,
    city_code: str,
    rules: Rules | None = None,
    progress: ProgressCallback | None = None,
) -> AuditReport:
    """Run the five attacks against everything public about ``city_code``;
    ``progress(step, done, total)`` hears of the protection and of each attack."""
    rules = rules or Rules()
    progress = progress or quiet_progress
    started = time.perf_counter()
    city = session.scalar(select(models.City).where(models.City.code == city_code))
    if city is None:
        raise DisclosureError(
            _("There is no city with code {code}: check 'inclusive-cities info'.").format(
                code=city_code
            )
        )
    progress(_("Working out the protection"), 0, 6)
    state = protection(session, city.id, rules).complete(session, rules)
    truth = state.truth
    progress(_("Reading the published figures"), 1, 6)
    published = published_figures(session, city)
    values, counts = published.values, published.counts
    # one walk over the model: a rate's n is served with it (its cell is public too); combined
    # cells (the sum of a block's small migrant groups) are withheld by construction, whatever
    # a stored protection of an older layout says; a rate's n is withheld with its rate, and
    # owed a range of its own only when it is a small sensitive count
    combined: set[Key] = set()
    small_n: set[Key] = set()
    hidden_cells = 0
    for key, cell in truth.items():
        if cell.of is not None:
            if cell.of in counts:
                values[key] = float(counts[cell.of])
            elif key not in values and always_hidden(cell, rules) and (cell.value or 0) >= 1:
                small_n.add(key)
        elif cell.virtual:
            combined.add(key)
        if not cell.virtual and cell.value is not None and key not in values:
            hidden_cells += 1
    scores, periods = published_scores(session, city)
    report = AuditReport(city.code, control_enabled(), unit_codes=state.unit_codes)
    report.published_figures = len(published.values)
    report.published_scores = sum(1 for s in scores if s.score is not None)
    report.hidden_cells = hidden_cells
    owed = {k for k in combined if rules.is_count(k[0], truth[k].unit)} | small_n
    protected = {k for k in state.protected | owed if k not in published.values}
    report.protected_cells = len(protected)
    progress(_("Attack: share times total"), 2, 6)
    findings = share_times_total(truth, published, rules)
    progress(_("Attack: differencing"), 3, 6)
    findings += differencing(truth, published, state.relations, rules)
    findings += combined_differencing(truth, published, state.relations, rules)
    progress(_("Attack: inverting normalised scores"), 4, 6)
    findings += normalised_inverse(truth, published, scores, periods, rules)
    findings += entropy_inversion(truth, published, rules)
    progress(_("Attack: linear programming intervals"), 5, 6)
    targets = unproven(state, published) | (owed - state.verified)
    findings += lp_attack(truth, published, state.relations, targets, protected, rules)
    # a cell the public cannot read only because no route serves it (a nationality row that
    # equals its total, say) was never withheld: working it out discloses nothing
    withheld = state.hidden | state.baseline | combined | small_n
    # the n of a hidden rate that its published age groups give back discloses no one (it is
    # the public sum of public counts); only a small sensitive one is a finding
    findings = [
        f for f in findings if f.key in withheld and (truth[f.key].of is None or f.key in small_n)
    ]
    findings += [
        Finding(k, BELOW_THRESHOLD, float(truth[k].value or 0), 0, 0, ())
        for k in state.protected
        if k in published.values
    ]
    findings += cluster_inputs(session, city)
    report.findings = sorted(findings, key=lambda f: (f.key, f.attack))
    report.seconds = time.perf_counter() - started
    progress(_("Audit finished"), 6, 6)
    return report


def lp_attack(
    truth: dict[Key, Cell],
    published: Published,
    relations: list[Relation],
    targets: set[Key],
    protected: set[Key],
    rules: Rules,
) -> list[Finding]:
    """The LP interval attack, with the inequalities the model leaves out added.

    A rate whose ``n`` is at most its band's count (``neet_youth``: those who answered) gives
    the attacker ``band >= n`` (:func:`bands.band_bounds`): rows the solver never saw, so every
    protected cell linked to such a row is attacked again, whatever the solve proved.
    """
    cells, bounds = band_bounds(truth, rate_bands())
    if not bounds:
        return lp_intervals(truth, published, relations, targets, rules)
    every = {**truth, **cells}
    seen = Published(dict(published.values), published.counts)
    for key, cell in cells.items():  # a rate's n is served with it
        if cell.of is not None and cell.of in published.counts:
            seen.values[key] = float(published.counts[cell.of])
    rows = relations + bounds
    linked = _linked(rows, every, seen, {k for r in bounds for k in r.members})
    return lp_intervals(every, seen, rows, targets | (protected & linked), rules)


def _linked(
    relations: list[Relation], truth: dict[Key, Cell], published: Published, seeds: set[Key]
) -> set[Key]:
    """The hidden cells joined to ``seeds`` through count relations' hidden members."""
    lines = []
    for relation in relations:
        if relation.quantity != "count":
            continue
        hidden = tuple(
            k
            for k in relation.members
            if k in truth and truth[k].value is not None and k not in published.values
        )
        if hidden:
            lines.append(hidden)
    return {k for group in _components(lines) if group & seeds for k in group}


def cluster_inputs(session: Session, city: models.City) -> list[Finding]:
    """Every figure a published cluster layer was computed from that the web withholds now.

    A layer's classes and p bands are a function of its inputs, so they disclose nothing
    beyond what is published as long as every input is a served figure (the analysis leaves
    out the withheld ones). A layer computed before a later solve withheld more (new data, new
    rules) breaks that: its blocks stay coloured hot or cold by scores no page shows. Such a
    layer must be computed again (``spatial clusters``) or withdrawn.
    """
    out: list[Finding] = []
    layers = session.scalars(
        select(models.AnalysisLayer).where(
            models.AnalysisLayer.city_id == city.id,
            models.AnalysisLayer.published.is_(True),
            models.AnalysisLayer.kind == "clusters",
        )
    )
    for layer in layers:
        period = session.get(models.Period, layer.period_id)
        assert period is not None
        served: dict[int, float] = {}
        if layer.marker_run_id is not None:
            code = layer.source.split(":", 1)[-1]
            scores = run_scores(session, layer.marker_run_id)
            if code in scores.nodes:
                column = scores.scores[:, scores.nodes.index(code)]
                served = {
                    int(u): float(v)
                    for u, v in zip(scores.unit_ids, column, strict=True)
                    if not np.isnan(v)
                }
        else:
            code = layer.source
            indicator = session.scalar(
                select(models.Indicator.id).where(models.Indicator.code == code)
            )
            if indicator is not None:
                served = {
                    int(o.unit_id): float(o.value)
                    for o in indicator_observations(session, indicator, layer.period_id, city.id)
                    if o.value is not None
                }
        features = session.execute(
            select(models.AnalysisFeature.unit_id, models.AnalysisFeature.value).where(
                models.AnalysisFeature.layer_id == layer.id,
                models.AnalysisFeature.value.is_not(None),
                models.AnalysisFeature.unit_id.is_not(None),
            )
        ).all()
        for unit_id, stored in features:
            unit, value = int(unit_id or 0), float(stored or 0.0)  # both NOT NULL here
            shown = served.get(unit)
            if shown is None or abs(shown - value) > 1e-6 * max(1.0, abs(value)):
                key: Key = (code, unit, period.code, TOTAL, TOTAL, TOTAL)
                out.append(Finding(key, CLUSTER_INPUT, value, value, value, (layer.name,)))
    return out


def unproven(state: Protection, published: Published) -> set[Key]:
    """The protected hidden cells the LP attack must still try.

    All of them, unless everything public is also public in the pattern the solve of this
    process attacked (same cells, same values: the public sees no more than the solver's
    attacker did). Then the cells that solve proved protected stay protected (hiding more
    only widens an LP interval) and only the others are attacked: at publish time, right
    after the solve, that halves the work on a medium city. An audit in a new process has no
    such proof (it is never stored) and attacks every cell.
    """
    protected = {k for k in state.protected if k not in published.values}
    if not state.verified:
        return protected
    # each public value must be one the solver's view showed: a cell with a value, neither
    # hidden nor withheld by the web's rule, read as it is (the view, key by key)
    truth, hidden, baseline = state.truth, state.hidden, state.baseline
    for key, value in published.values.items():
        cell = truth.get(key)
        if (
            cell is None
            or cell.value is None
            or key in hidden
            or key in baseline
            or float(cell.value) != value
        ):
            return protected
    return protected - state.verified


def refuse_if_disclosive(
    session: Session, city_code: str, shown: int = 10, progress: ProgressCallback | None = None
) -> AuditReport:
    """The gate of ``publish``: audit the city as it would be published; refuse, naming the
    cells, if anything comes back (the caller's transaction then rolls back)."""
    report = audit(session, city_code, progress=progress)
    if report.findings:
        names = sorted({describe(f.key, report.unit_codes) for f in report.findings})
        raise DisclosureError(
            _(
                "Refusing to publish {city}: {count} suppressed cells can be recovered from "
                "what would be public ({cells}). Run 'inclusive-cities disclosure audit --city "
                "{city}' to see how, and withhold the figures that give them away."
            ).format(
                city=city_code,
                count=len(names),
                cells=", ".join(names[:shown]) + (" …" if len(names) > shown else ""),
            )
        )
    return report
