"""The upload and audit code the staff forms share (web/staff_forms.py): the file's name loses
its folders, a wrong kind or a file over the limit is the form's one line, the saved copy goes
with its folder; and, through the plan's upload form, the audit entry names who, what and from
where. The workshop, programme and governance forms' own tests cover their messages."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator

import pytest
from fastapi import UploadFile
from fastapi.testclient import TestClient
from sqlalchemy import select

from inclusive_cities.store import connect, transaction
from inclusive_cities.store.web_models import AuditEntry
from inclusive_cities.web import create_app
from inclusive_cities.web.data import CACHE
from inclusive_cities.web.errors import WebError
from inclusive_cities.web.staff_forms import Upload
from tests.web.conftest import specs
from tests.web.planning_city import EMAIL, PASSWORD
from tests.web.workshop_city import PLAN, WorkshopCity, build_workshop_city


def upload(name: str, content: bytes, limit: int) -> Upload:
    file = UploadFile(io.BytesIO(content), filename=name)
    return asyncio.run(Upload.read(file, limit))


def test_an_upload_keeps_its_name_checks_its_kind_and_size_and_cleans_up() -> None:
    sent = upload("C:/Users/ana/../proyectos.XLSX", b"PK\x03\x04 filled in", limit=64)
    assert sent.name == "proyectos.XLSX" and sent.content == b"PK\x03\x04 filled in"
    sent.check((".gpkg", ".xlsx"), "{name}: upload a {kinds} file.", "too large", kinds="x")
    with sent.saved("ic-test-") as path:
        assert path.name == "proyectos.XLSX" and path.read_bytes() == sent.content
    assert not path.exists() and not path.parent.exists()

    wrong = upload("notas.txt", b"-999;999", limit=64)
    with pytest.raises(WebError, match=r"^notas\.txt: upload a \.gpkg / \.xlsx file\.$"):
        wrong.check((".gpkg", ".xlsx"), "{name}: upload a {kinds} file.", "", kinds=".gpkg / .xlsx")
    # 65 bytes against a limit of 64: only 65 are read, and it is refused
    large = upload("grande.xlsx", b"x" * 1000, limit=64)
    assert len(large.content) == 65
    with pytest.raises(WebError, match=r"^The file is larger than 64 bytes\.$"):
        large.check((".xlsx",), "{name}", "The file is larger than 64 bytes.")
    nameless = upload("", b"", limit=64)
    with pytest.raises(WebError, match=r"^\?: upload"):
        nameless.check((".xlsx",), "{name}: upload the template.", "")


@pytest.fixture(scope="module")
def staff(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, str]]:
    city: WorkshopCity = build_workshop_city(tmp_path_factory.mktemp("staff-forms"))
    CACHE.clear()
    with TestClient(create_app(city.url, specs=specs)) as client:
        answer = client.post("/admin/login", data={"email": EMAIL, "password": PASSWORD})
        assert answer.status_code == 200, answer.text[-500:]
        page = client.get(f"/admin/cities/PLN/plan/{PLAN}?lang=en").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        yield client, token.group(1), city.url


def test_the_plan_form_refuses_a_wrong_file_in_one_line_and_audits_what_it_took(
    staff: tuple[TestClient, str, str],
) -> None:
    client, token, url = staff
    target = f"/admin/cities/PLN/plan/{PLAN}/upload?lang=en"
    wrong = client.post(
        target,
        data={"csrf_token": token, "what": "proposals"},
        files={"file": ("propuestas.gpkg", b"SQLite format 3\x00", "application/octet-stream")},
    )
    assert "propuestas.gpkg: upload a .xlsx file." in wrong.text
    with transaction(connect(url)) as session:
        before = session.scalars(select(AuditEntry).where(AuditEntry.action == "plan_upload")).all()
        assert before == []  # refused: nothing changed, nothing audited
    # the plan's own workbook goes back in: audited with who, what and from where
    xlsx = client.get(f"/cities/PLN/plan/{PLAN}/plan.xlsx").content
    taken = client.post(
        target,
        data={"csrf_token": token, "what": "projects"},
        files={"file": ("plan-vuelto.xlsx", xlsx, "application/octet-stream")},
    )
    assert taken.status_code == 200 and "plan-vuelto.xlsx imported." in taken.text
    with transaction(connect(url)) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "plan_upload")).one()
        assert (entry.user_email, entry.target, entry.client) == (
            EMAIL,
            f"plan:PLN:{PLAN}",
            "testclient",  # Starlette's TestClient peer
        )
    nobody = TestClient(client.app)
    refused = nobody.post(
        target,
        data={"csrf_token": token},
        files={"file": ("notas.txt", b"-999", "text/plain")},
        follow_redirects=False,
    )
    assert refused.status_code in (401, 403, 303)  # no login: the file is not even checked
    assert "notas.txt" not in refused.text
