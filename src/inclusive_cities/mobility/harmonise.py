"""Bring survey rounds with different questions and codes to one harmonised table.

A mapping file (YAML) lists the rounds in order and, for each, how its columns were
renamed and its choice codes changed relative to the canonical schema
(:mod:`inclusive_cities.mobility.schema`)::

    rounds:
      - code: R1
        file: hfs_round1.xlsx        # CSV or XLSX (KoBo export: first or "data" sheet)
        date: 2024-03-15             # fieldwork mid-point, orders the rounds
        label: Round 1 (March 2024)
      - code: R2
        file: hfs_round2.xlsx
        date: 2024-07-15
        rename: {gender: sex, intention_6m: intention}   # source column -> canonical
        recode:
          intention: {quedarse: stay, seguir: move_on, regresar: return}

Rounds exported from KoBoToolbox are imported like any survey, one period a round
(``inclusive-cities survey import form.xlsx round.xlsx --city C --period R1 --survey hfs
--design design.yaml``), with the importer's checks, transaction and private storage;
:func:`harmonise_imported` reads them back. Their weight, stratum and PSU are the design's
columns, their date is the fieldwork mid-point (median ``_submission_time``), and a mapping
file is needed only for rounds whose questions or codes differ from the canonical ones:
its entries then name no ``file``, only the round's ``code`` (the period), ``date`` and
``rename``/``recode``.

Anything that cannot be harmonised stops with one line naming round, file, column and value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sqlalchemy import Engine

from inclusive_cities.i18n import gettext as _
from inclusive_cities.mobility.errors import MobilityError
from inclusive_cities.mobility.schema import (
    AGE_GROUPS,
    ARRIVAL_BANDS,
    CHOICES,
    MANDATORY,
    MAY_BE_UNANSWERED,
    MULTIPLE,
    NO_ANSWER,
    OPTIONAL,
)
from inclusive_cities.surveys.dates import read_dates
from inclusive_cities.surveys.design import Design


@dataclass(frozen=True)
class RoundSpec:
    """One round in a mapping file (``file`` empty for a round imported into the store)."""

    code: str
    file: str
    date: date
    label: str = ""
    rename: dict[str, str] = field(default_factory=dict)
    recode: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Mapping:
    rounds: tuple[RoundSpec, ...]
    directory: Path


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file; files it names are relative to its folder."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise MobilityError(
            _("Mapping file {path} does not exist; pass the YAML that lists the rounds.").format(
                path=path
            )
        ) from None
    except yaml.YAMLError as error:
        raise MobilityError(
            _("Mapping file {path} is not valid YAML ({reason}).").format(
                path=path, reason=str(error).splitlines()[0]
            )
        ) from None
    entries = raw.get("rounds") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise MobilityError(
            _("Mapping file {path} has no 'rounds:' list; add one entry per round.").format(
                path=path
            )
        )
    rounds = []
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise MobilityError(
                _("Mapping file {path}: round {position} is not a mapping of keys.").format(
                    path=path, position=position
                )
            )
        for key in ("code", "date"):
            if key not in entry:
                raise MobilityError(
                    _("Mapping file {path}: round {position} has no '{key}'; add it.").format(
                        path=path, position=position, key=key
                    )
                )
        when = entry["date"]
        if not isinstance(when, date):
            try:
                when = date.fromisoformat(str(when))
            except ValueError:
                raise MobilityError(
                    _(
                        "Mapping file {path}: round {code} has date '{value}'; use YYYY-MM-DD."
                    ).format(path=path, code=entry["code"], value=when)
                ) from None
        rounds.append(
            RoundSpec(
                code=str(entry["code"]),
                file=str(entry.get("file") or ""),
                date=when,
                label=str(entry.get("label", entry["code"])),
                rename={str(k): str(v) for k, v in (entry.get("rename") or {}).items()},
                recode={
                    str(var): {str(k): str(v) for k, v in (codes or {}).items()}
                    for var, codes in (entry.get("recode") or {}).items()
                },
            )
        )
    codes = [r.code for r in rounds]
    if len(set(codes)) != len(codes):
        raise MobilityError(
            _("Mapping file {path} lists a round code twice; codes must be unique.").format(
                path=path
            )
        )
    return Mapping(tuple(sorted(rounds, key=lambda r: r.date)), path.parent)


def read_round(path: str | Path) -> pd.DataFrame:
    """Read one round's responses from CSV or a KoBo-style XLSX (sheet 'data' or the first)."""
    path = Path(path)
    if not path.exists():
        raise MobilityError(
            _("Survey round file {path} does not exist; check 'file:' in the mapping.").format(
                path=path
            )
        )
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        with pd.ExcelFile(path, engine="calamine") as book:
            sheet = "data" if "data" in book.sheet_names else book.sheet_names[0]
            return pd.read_excel(book, sheet_name=sheet, dtype=str)
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def _fail_value(
    spec: RoundSpec, source: str, column: str, row: int, value: object, expected: str
) -> MobilityError:
    return MobilityError(
        _(
            "Round {round} ({file}), row {row}, column '{column}': value '{value}' {expected}."
        ).format(
            round=spec.code, file=source, row=row, column=column, value=value, expected=expected
        )
    )


def harmonise_round(frame: pd.DataFrame, spec: RoundSpec, source: str = "") -> pd.DataFrame:
    """One round in canonical columns, with derived variables; raises on anything unmapped."""
    source = source or spec.file
    data = frame.rename(columns=spec.rename).copy()
    data.columns = [str(c).strip() for c in data.columns]
    missing = [c for c in MANDATORY if c not in data.columns]
    if missing:
        renamed = {v: k for k, v in spec.rename.items()}
        raise MobilityError(
            _(
                "Round {round} ({file}) has no column '{column}' (mandatory); rename the "
                "question in the mapping file (rename: {{source_column: {column}}})."
            ).format(round=spec.code, file=source, column=renamed.get(missing[0], missing[0]))
        )
    keep = [c for c in (*MANDATORY, *OPTIONAL) if c in data.columns]
    data = data[keep].copy()
    for column, codes in spec.recode.items():
        if column not in data.columns:
            raise MobilityError(
                _(
                    "Round {round} ({file}): the mapping recodes column '{column}', which the "
                    "round does not have."
                ).format(round=spec.code, file=source, column=column)
            )
        if column in MULTIPLE:
            data[column] = data[column].map(
                lambda text, codes=codes: (
                    " ".join(codes.get(t, t) for t in str(text).split())
                    if isinstance(text, str)
                    else text
                )
            )
        else:
            data[column] = data[column].map(lambda v, codes=codes: codes.get(v, v))
    for column in MAY_BE_UNANSWERED:
        if column in data.columns:
            # "no sabe" / "no responde" (88, 99, NS/NR ...) is no answer, not a fourth intention
            declined = data[column].astype("string").str.strip().str.lower().isin(NO_ANSWER)
            data[column] = data[column].mask(declined.fillna(False).to_numpy(dtype=bool))
    for column, allowed in CHOICES.items():
        if column not in data.columns:
            continue
        for row, value in enumerate(data[column], start=2):
            if value is None or pd.isna(value) or value == "":
                if column in MULTIPLE or column in MAY_BE_UNANSWERED:
                    continue
                raise _fail_value(spec, source, column, row, "", _("is empty; it is mandatory"))
            tokens = str(value).split() if column in MULTIPLE else [str(value)]
            for token in tokens:
                if token not in allowed:
                    raise _fail_value(
                        spec,
                        source,
                        column,
                        row,
                        token,
                        _(
                            "is not in the choice list ({choices}); add it to 'recode:' for "
                            "this round in the mapping file"
                        ).format(choices=", ".join(allowed)),
                    )
    for column in ("weight", "age", "household_size"):
        numbers = pd.to_numeric(data[column], errors="coerce")
        bad = numbers.isna() | (numbers < 0) | ((numbers <= 0) & (column != "age"))
        if column == "age":  # a refused age (empty, or a missing-value code at import) is allowed
            bad &= data[column].notna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise _fail_value(
                spec,
                source,
                column,
                row + 2,
                data[column].iloc[row],
                _("is not a valid positive number"),
            )
        whole = "Int64" if numbers.isna().any() else int
        data[column] = numbers.astype(float if column == "weight" else whole)
    arrival = read_dates(data["arrival_date"])
    if arrival.isna().any():
        row = int(np.flatnonzero(arrival.isna().to_numpy())[0])
        raise _fail_value(
            spec,
            source,
            "arrival_date",
            row + 2,
            data["arrival_date"].iloc[row],
            _("is not a date (write YYYY-MM-DD or DD/MM/YYYY, day first)"),
        )
    data["arrival_date"] = arrival.dt.date
    data["round"] = spec.code
    data["round_label"] = spec.label
    data["round_date"] = spec.date
    return _derive(data, spec.date)


def _derive(data: pd.DataFrame, when: date) -> pd.DataFrame:
    reference = pd.Timestamp(when)
    arrival = pd.to_datetime(data["arrival_date"])
    months = ((reference - arrival).dt.days / 30.4375).clip(lower=0)
    data["months_since_arrival"] = months
    data["arrival_band"] = pd.cut(
        months,
        [b[1] for b in ARRIVAL_BANDS] + [ARRIVAL_BANDS[-1][2]],
        labels=[b[0] for b in ARRIVAL_BANDS],
        right=False,
    ).astype(str)
    data["age_group"] = (
        pd.cut(
            data["age"].astype(float),
            [g[1] for g in AGE_GROUPS] + [AGE_GROUPS[-1][2] + 1],
            labels=[g[0] for g in AGE_GROUPS],
            right=False,
        )
        .astype(str)
        .where(data["age"].notna())
    )
    needs = data["needs"].fillna("").astype(str).str.split()
    for need in CHOICES["needs"]:
        data[f"need_{need}"] = needs.map(lambda items, need=need: need in items)
    for column in (
        "origin_state",
        "route",
        "destination",
        "documentation",
        "transit_countries",
        "psu",
    ):
        if column not in data.columns:
            data[column] = pd.NA
    return data


def harmonise(
    mapping: Mapping | str | Path, frames: dict[str, pd.DataFrame] | None = None
) -> pd.DataFrame:
    """All rounds of a mapping, harmonised and stacked in date order.

    ``frames`` (round code -> DataFrame) replaces reading the files, for data already in memory.
    """
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    parts = []
    for spec in mapping.rounds:
        if frames is not None and spec.code in frames:
            frame = frames[spec.code]
        elif not spec.file:
            raise MobilityError(
                _(
                    "Round {round} of the mapping file names no 'file': add one, or import the "
                    "round with 'survey import' and read it with --survey."
                ).format(round=spec.code)
            )
        else:
            frame = read_round(mapping.directory / spec.file)
        parts.append(harmonise_round(frame, spec, spec.file))
    return pd.concat(parts, ignore_index=True)


FIELDWORK_COLUMNS = ("_submission_time", "today", "end", "start", "interview_date")


def fieldwork_date(frame: pd.DataFrame) -> date | None:
    """The fieldwork mid-point: the median of the first dated KoBo column present."""
    for column in FIELDWORK_COLUMNS:
        if column not in frame.columns:
            continue
        stamps = pd.to_datetime(frame[column], errors="coerce", utc=True, format="mixed")
        if stamps.notna().any():
            return stamps.dropna().sort_values().iloc[(int(stamps.notna().sum()) - 1) // 2].date()
    return None


def _design_columns(frame: pd.DataFrame, design: Design, city: str) -> pd.DataFrame:
    """The design's weight, strata and PSU under the canonical names; the import's city
    where the round has no city question (a survey of one city)."""
    roles = {design.weight: "weight", design.strata: "stratum", design.psu: "psu"}
    renamed = {
        column: name
        for column, name in roles.items()
        if column and column != name and column in frame and name not in frame
    }
    frame = frame.rename(columns=renamed)
    if "city" not in frame.columns:
        frame = frame.assign(city=city)
    return frame


def harmonise_imported(
    engine: Engine,
    city: str,
    survey: str,
    mapping: Mapping | str | Path | None = None,
    data_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Every round of ``survey`` imported for ``city`` (one period a round), harmonised.

    A round the mapping file lists (by its period as ``code``) takes its date, label,
    renames and recodes from there; any other is taken as canonical, dated by its fieldwork.
    Entries for rounds not imported (yet) are left aside.
    """
    from inclusive_cities.surveys.storage import imported_periods, load_survey

    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    periods = imported_periods(engine, city, survey)
    if not periods:
        raise MobilityError(
            _(
                "No round of survey '{survey}' is imported for city {city}: import each round "
                "with 'inclusive-cities survey import FORM DATA --city {city} --period ROUND "
                "--survey {survey} --design DESIGN'."
            ).format(survey=survey, city=city)
        )
    specs = {spec.code: spec for spec in mapping.rounds} if mapping is not None else {}
    rounds = []
    for period in periods:
        tables, design = load_survey(city, period, survey, data_dir, engine=engine)
        frame = _design_columns(tables["main"], design, city)
        spec = specs.get(period)
        if spec is None:
            when = fieldwork_date(frame)
            if when is None:
                raise MobilityError(
                    _(
                        "Round {round} of survey '{survey}' has no fieldwork date (no "
                        "_submission_time column): give its date in a mapping file."
                    ).format(round=period, survey=survey)
                )
            spec = RoundSpec(code=period, file="", date=when, label=period)
        rounds.append((spec, frame))
    rounds.sort(key=lambda item: item[0].date)
    source = _("survey {survey}, period {period}")
    return pd.concat(
        [
            harmonise_round(frame, spec, source.format(survey=survey, period=spec.code))
            for spec, frame in rounds
        ],
        ignore_index=True,
    )
