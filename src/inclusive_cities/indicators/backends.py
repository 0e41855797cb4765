"""Where census microdata is aggregated: DuckDB on this machine, or Spark for a national census.

The catalogue compiles to Ibis expressions, so the same indicators run on any Ibis backend
that can read the census Parquet files. DuckDB is the default: one process, no set-up, and
the fastest choice up to tens of millions of records on one machine. Spark is for a
statistics office whose census (Colombia 2018: about 44 million person records) lives on a
cluster: the aggregation runs there and only the aggregated table comes back; the marker
then works on that small table as usual.

``engine`` is ``"duckdb"``, ``"spark"`` (local Spark on every core of this machine), or a
Spark master URL (``spark://host:7077``, ``yarn``, ``k8s://…``, ``local[4]``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inclusive_cities.i18n import gettext as _
from inclusive_cities.indicators.errors import IndicatorError

if TYPE_CHECKING:
    import ibis.expr.types as ir

DEFAULT_ENGINE = "duckdb"
_SPARK_MASTERS = ("spark://", "yarn", "k8s://", "local", "mesos://")


def is_spark(engine: str) -> bool:
    """True for ``spark`` or a Spark master URL."""
    return engine == "spark" or engine.startswith(_SPARK_MASTERS)


def check_engine(engine: str) -> str:
    """Return the engine if it is one we know, else say which ones exist."""
    if engine == DEFAULT_ENGINE or is_spark(engine):
        return engine
    raise IndicatorError(
        _(
            "Unknown engine '{engine}': use 'duckdb' (default), 'spark', or a Spark master URL "
            "such as spark://host:7077."
        ).format(engine=engine)
    )


def spark_session(engine: str = "spark") -> Any:
    """The Spark session the catalogue runs on (created once per process, then reused).

    Workers run this interpreter (so they find pandas and pyarrow), Spark's web UI stays off,
    and its warehouse goes to a temporary folder, never the working directory.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise IndicatorError(
            _(
                "The Spark engine needs PySpark and Java 17: install them with "
                "pip install 'inclusive-cities[spark]' and your system's openjdk-17 package."
            )
        ) from error
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    master = "local[*]" if engine == "spark" else engine
    warehouse = Path(tempfile.gettempdir()) / "inclusive-cities-spark-warehouse"
    builder = (
        SparkSession.builder.master(master)
        .appName("inclusive-cities indicators")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", os.environ.get("SPARK_SHUFFLE_PARTITIONS", "8"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
    )
    try:
        session = builder.getOrCreate()
    except Exception as error:  # the JVM did not start: Java missing or too old
        raise IndicatorError(
            _(
                "Spark did not start ({reason}): check that Java 17 is installed "
                "(java -version) and that JAVA_HOME points to it."
            ).format(reason=str(error).splitlines()[0] if str(error) else type(error).__name__)
        ) from error
    session.sparkContext.setLogLevel("ERROR")
    return session


def read_census(engine: str, paths: Mapping[str, Path]) -> dict[str, ir.Table]:
    """Open each census record file (``person``, ``household`` …) as an Ibis table on the engine."""
    import ibis

    check_engine(engine)
    if is_spark(engine):
        connection = ibis.pyspark.connect(spark_session(engine))
    else:
        connection = ibis.duckdb.connect()
    return {
        record: connection.read_parquet(str(path), table_name=f"census_{record}")
        for record, path in paths.items()
    }


__all__ = ["DEFAULT_ENGINE", "check_engine", "is_spark", "read_census", "spark_session"]
