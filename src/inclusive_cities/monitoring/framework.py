"""The results framework: outcomes, outputs and indicators, read from a YAML spec and
written to the store so that values, exports and pages share one definition.

The Inclusive Cities programme's framework ships in ``monitoring/frameworks/``; another
programme writes its own YAML and installs it with ``programme install``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.monitoring.errors import MonitoringError
from inclusive_cities.store.monitoring_models import (
    ACCUMULATIONS,
    AGGREGATIONS,
    Programme,
    ProgrammeIndicator,
    ResultNode,
)

FRAMEWORKS = Path(__file__).parent / "frameworks"
DEFAULT_PROGRAMME = "inclusive_cities"
DISAGGREGATIONS = ("sex", "age_group", "nationality", "topic")


@dataclass(frozen=True)
class IndicatorSpec:
    code: str
    result: str
    name_es: str
    name_en: str
    unit: str
    measure: str
    aggregation: str
    disaggregations: tuple[str, ...]
    verification_es: str
    verification_en: str
    computed: str
    sector: str
    accumulation: str = ""


@dataclass(frozen=True)
class ResultSpec:
    code: str
    level: str
    parent: str
    name_es: str
    name_en: str


@dataclass
class Framework:
    code: str
    name_es: str
    name_en: str
    reporting_org_es: str
    reporting_org_en: str
    reporting_org_ref: str
    iati_identifier: str
    start_date: str
    end_date: str
    categories: dict[str, list[str]]
    results: list[ResultSpec] = field(default_factory=list)
    indicators: list[IndicatorSpec] = field(default_factory=list)

    def indicator(self, code: str) -> IndicatorSpec:
        for spec in self.indicators:
            if spec.code == code:
                return spec
        raise MonitoringError(
            _("Indicator {code} is not in the results framework {framework}.").format(
                code=code, framework=self.code
            )
        )


def _text(entry: dict[str, Any], key: str, where: str, required: bool = True) -> str:
    value = entry.get(key)
    if value is None or str(value).strip() == "":
        if required:
            raise MonitoringError(
                _("The results framework {where} lacks '{key}': add it.").format(
                    where=where, key=key
                )
            )
        return ""
    return str(value).strip()


def _indicator(entry: dict[str, Any], result: str, where: str, categories: dict) -> IndicatorSpec:
    code = _text(entry, "code", where)
    here = f"{where} > {code}"
    aggregation = str(entry.get("aggregation", "sum"))
    if aggregation not in AGGREGATIONS:
        raise MonitoringError(
            _("The results framework {where} has aggregation {value}: use {allowed}.").format(
                where=here, value=aggregation, allowed=", ".join(AGGREGATIONS)
            )
        )
    measure = str(entry.get("measure", "unit"))
    if measure not in ("unit", "percentage"):
        raise MonitoringError(
            _("The results framework {where} has measure {value}: use unit or percentage.").format(
                where=here, value=measure
            )
        )
    accumulation = str(entry.get("accumulation") or "").strip()
    if accumulation not in ACCUMULATIONS:
        raise MonitoringError(
            _(
                "The results framework {where} has accumulation {value}: use per_period (a "
                "semester is the sum of its months) or cumulative (a semester is its last month)."
            ).format(where=here, value=accumulation)
        )
    dims = tuple(str(d) for d in entry.get("disaggregations", []) or [])
    for dim in dims:
        if dim not in DISAGGREGATIONS or dim not in categories:
            raise MonitoringError(
                _(
                    "The results framework {where} disaggregates by {value}: use {allowed} "
                    "and list its categories under 'disaggregations'."
                ).format(where=here, value=dim, allowed=", ".join(DISAGGREGATIONS))
            )
    return IndicatorSpec(
        code=code,
        result=result,
        name_es=_text(entry, "name_es", here),
        name_en=_text(entry, "name_en", here),
        unit=_text(entry, "unit", here, required=False),
        measure=measure,
        aggregation=aggregation,
        disaggregations=dims,
        verification_es=_text(entry, "verification_es", here, required=False),
        verification_en=_text(entry, "verification_en", here, required=False),
        computed=_text(entry, "computed", here, required=False),
        sector=_text(entry, "sector", here, required=False),
        accumulation=accumulation,
    )


def load_framework(name_or_path: str | Path = DEFAULT_PROGRAMME) -> Framework:
    """A results framework from a shipped name (``inclusive_cities``) or a YAML file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = FRAMEWORKS / f"{name_or_path}.yaml"
    if not path.is_file():
        raise MonitoringError(
            _(
                "There is no results framework at {path}: give a YAML file or one of {known}."
            ).format(path=path, known=", ".join(p.stem for p in sorted(FRAMEWORKS.glob("*.yaml"))))
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise MonitoringError(
            _("The results framework {path} is not valid YAML: {reason}.").format(
                path=path.name, reason=str(error).splitlines()[0]
            )
        ) from error
    if not isinstance(raw, dict):
        raise MonitoringError(
            _("The results framework {path} must be a mapping with 'code' and 'outcomes'.").format(
                path=path.name
            )
        )
    where = path.name
    categories = {
        str(k): [str(v) for v in values] for k, values in (raw.get("disaggregations") or {}).items()
    }
    framework = Framework(
        code=_text(raw, "code", where),
        name_es=_text(raw, "name_es", where),
        name_en=_text(raw, "name_en", where),
        reporting_org_es=_text(raw, "reporting_org_es", where, required=False),
        reporting_org_en=_text(raw, "reporting_org_en", where, required=False),
        reporting_org_ref=_text(raw, "reporting_org_ref", where, required=False),
        iati_identifier=_text(raw, "iati_identifier", where, required=False),
        start_date=_text(raw, "start_date", where, required=False),
        end_date=_text(raw, "end_date", where, required=False),
        categories=categories,
    )
    seen: set[str] = set()
    for outcome in raw.get("outcomes") or []:
        code = _text(outcome, "code", where)
        framework.results.append(
            ResultSpec(
                code,
                "outcome",
                "",
                _text(outcome, "name_es", code),
                _text(outcome, "name_en", code),
            )
        )
        for output in outcome.get("outputs") or []:
            out_code = _text(output, "code", f"{where} > {code}")
            framework.results.append(
                ResultSpec(
                    out_code,
                    "output",
                    code,
                    _text(output, "name_es", out_code),
                    _text(output, "name_en", out_code),
                )
            )
            for entry in output.get("indicators") or []:
                spec = _indicator(entry, out_code, f"{where} > {out_code}", categories)
                if spec.code in seen:
                    raise MonitoringError(
                        _("The results framework {where} lists indicator {code} twice.").format(
                            where=where, code=spec.code
                        )
                    )
                seen.add(spec.code)
                framework.indicators.append(spec)
    if not framework.indicators:
        raise MonitoringError(
            _("The results framework {path} has no indicators under its outcomes.").format(
                path=path.name
            )
        )
    return framework


def install_framework(session: Session, framework: Framework) -> Programme:
    """Create or update the programme, its results and indicators (values are kept)."""
    programme = session.scalar(select(Programme).where(Programme.code == framework.code))
    if programme is None:
        programme = Programme(code=framework.code)
        session.add(programme)
    programme.name_es = framework.name_es
    programme.name_en = framework.name_en
    programme.framework = framework.code
    programme.reporting_org = framework.reporting_org_en or framework.reporting_org_es
    programme.reporting_org_ref = framework.reporting_org_ref
    programme.iati_identifier = framework.iati_identifier
    programme.start_date = framework.start_date
    programme.end_date = framework.end_date
    session.flush()
    results = {
        r.code: r
        for r in session.scalars(select(ResultNode).where(ResultNode.programme_id == programme.id))
    }
    for position, spec in enumerate(framework.results):
        node = results.get(spec.code)
        if node is None:
            node = ResultNode(programme_id=programme.id, code=spec.code)
            session.add(node)
            results[spec.code] = node
        node.level, node.parent_code, node.position = spec.level, spec.parent, position
        node.name_es, node.name_en = spec.name_es, spec.name_en
    session.flush()
    indicators = {
        i.code: i
        for i in session.scalars(
            select(ProgrammeIndicator).where(ProgrammeIndicator.programme_id == programme.id)
        )
    }
    for position, ispec in enumerate(framework.indicators):
        row = indicators.get(ispec.code)
        if row is None:
            row = ProgrammeIndicator(programme_id=programme.id, code=ispec.code)
            session.add(row)
        row.result_id = results[ispec.result].id
        row.name_es, row.name_en = ispec.name_es, ispec.name_en
        row.unit, row.measure, row.aggregation = ispec.unit, ispec.measure, ispec.aggregation
        row.accumulation = ispec.accumulation
        row.disaggregations = list(ispec.disaggregations)
        row.verification_es, row.verification_en = ispec.verification_es, ispec.verification_en
        row.computed, row.sector, row.position = ispec.computed, ispec.sector, position
    session.flush()
    return programme
