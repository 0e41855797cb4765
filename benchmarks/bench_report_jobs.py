"""What a web worker spends on a "Download PDF" before and after issue #20 (report jobs).

Before, the request rendered the report with WeasyPrint; now it asks for a report job (store
fingerprint, one lookup, at most one insert and a hand-off) and answers with a redirect.
Interleaved rounds on one store, CPU time of the calling thread (user+system), medians:

    .venv/bin/python benchmarks/bench_report_jobs.py sqlite:////tmp/h2/demo/observatory.db

The store is the medium demo (scripts/build-demo.sh); the report is the donor report.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from inclusive_cities.store import connect, transaction
from inclusive_cities.store.web_models import AuditEntry
from inclusive_cities.web.report_jobs import request_report, store_fingerprint

ROUNDS = 3


def main(url: str) -> None:
    from inclusive_cities.reports.programme_report import programme_report

    engine = connect(url)
    render, ask, again, fingerprint = [], [], [], []
    for round_ in range(ROUNDS):
        with tempfile.TemporaryDirectory() as folder:
            started = time.thread_time()
            programme_report(engine, Path(folder) / "r.pdf", "es")  # what the request did
            render.append(time.thread_time() - started)
        with transaction(engine) as session:  # a new store version: the next ask is a new job
            session.add(AuditEntry(action="bench_report_jobs", target=str(round_)))
        # a city that does not exist: its job fails at once (the request side is the same)
        options = {"city": "NO-SUCH-CITY", "assessment": None}
        started = time.thread_time()
        request_report(engine, "governance", options, "es", public=True, file_name="x.pdf")
        ask.append(time.thread_time() - started)
        time.sleep(1)
        started = time.thread_time()
        request_report(engine, "programme", {}, "es", public=True, file_name="x.pdf")
        again.append(time.thread_time() - started)
        with transaction(engine) as session:
            started = time.thread_time()
            store_fingerprint(session)
            fingerprint.append(time.thread_time() - started)
    for name, values in (
        ("render in the request (before)", render),
        ("ask for a new report job (after)", ask),
        ("ask for the donor report (after)", again),
        ("  of which the store fingerprint", fingerprint),
    ):
        print(f"{name:34} median {statistics.median(values) * 1000:9.1f} ms CPU  {values}")


if __name__ == "__main__":
    main(sys.argv[1])
