"""High-frequency survey (HFS) of refugees and migrants: rounds, harmonisation, figures, trends.

    from inclusive_cities import mobility

    mapping = mobility.write_rounds("hfs", seed=0)      # three synthetic demo rounds + mapping
    data = mobility.harmonise(mapping)                   # one table, canonical columns
    # or rounds imported from KoBo with `survey import ... --period R1 --survey hfs`:
    # data = mobility.harmonise_imported(engine, "DEMO", "hfs", mapping=None)
    summary = mobility.summarise(data)                   # every figure, per round, nation + cities
    mobility.trends(summary, geography="DEMO")           # over rounds, change and its p-value
    mobility.flows(data, round_code="R3", city="DEMO")   # origin -> destination, households

Estimates are design-based and come from the observatory's one survey engine,
:func:`inclusive_cities.surveys.estimate` (Taylor linearisation, strata and optional PSUs,
domains on the full design), with 95% Student-t CIs, CVs and suppression of figures resting
on fewer than 10 respondents. Errors are :class:`MobilityError`.
"""

from __future__ import annotations

from inclusive_cities.mobility.analysis import (
    MIN_N,
    NATIONAL,
    Change,
    change,
    design_for,
    flows,
    summarise,
    trends,
)
from inclusive_cities.mobility.census import census_migrants
from inclusive_cities.mobility.errors import MobilityError
from inclusive_cities.mobility.generate import (
    default_mapping,
    generate_rounds,
    households_for,
    write_rounds,
)
from inclusive_cities.mobility.harmonise import (
    Mapping,
    RoundSpec,
    fieldwork_date,
    harmonise,
    harmonise_imported,
    harmonise_round,
    load_mapping,
    read_round,
)
from inclusive_cities.mobility.schema import CHOICES, MANDATORY, choice_label

__all__ = [
    "CHOICES",
    "MANDATORY",
    "MIN_N",
    "NATIONAL",
    "Change",
    "Mapping",
    "MobilityError",
    "RoundSpec",
    "census_migrants",
    "change",
    "choice_label",
    "default_mapping",
    "design_for",
    "fieldwork_date",
    "flows",
    "generate_rounds",
    "harmonise",
    "harmonise_imported",
    "harmonise_round",
    "households_for",
    "load_mapping",
    "read_round",
    "summarise",
    "trends",
    "write_rounds",
]
