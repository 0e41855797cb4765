"""``serve``: a busy port is one translated line (exit 1) before anything is printed; a free
port serves the site (favicon included)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from inclusive_cities.cli import main
from tests.web.live import ROOT, free_port

EXECUTABLE = str(Path(sys.executable).with_name("inclusive-cities"))


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    assert call(capsys, "--database", url, "init")[0] == 0
    return url


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port another program is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_busy_port_is_one_line_and_exit_1(
    database: str, busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = call(
        capsys, "--database", database, "--lang", "en", "serve", "--port", str(busy_port)
    )
    assert code == 1
    assert "Serving" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"Port {busy_port} on 127.0.0.1 is already in use" in lines[0]
    assert "--port " in lines[0]
    suggested = int(lines[0].split("--port ")[1].split(",")[0])
    assert suggested > busy_port
    code, out, err = call(
        capsys, "--database", database, "--lang", "es", "serve", "--port", str(busy_port)
    )
    assert code == 1 and "Sirviendo" not in out
    assert f"El puerto {busy_port}" in err and "--port" in err


def test_free_port_serves_the_site_and_its_favicon(database: str) -> None:
    port = free_port()
    process = subprocess.Popen(
        [EXECUTABLE, "--database", database, "--lang", "en", "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/favicon.ico", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("image/svg+xml")
    finally:
        process.terminate()
        out, _err = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/" in out.decode()
