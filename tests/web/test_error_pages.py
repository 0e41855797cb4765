"""Error pages speak the page's language, also for the errors the framework raises itself."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_error_pages_speak_the_pages_language(client: TestClient) -> None:
    """A form's address opened by hand answers 405 in words (trial #4 F10: "Method Not
    Allowed" under a Spanish title)."""
    spanish = client.get("/admin/users", params={"lang": "es"})
    assert spanish.status_code == 405
    assert "Method Not Allowed" not in spanish.text
    assert "Esta dirección recibe un formulario" in spanish.text
    english = client.get("/admin/users", params={"lang": "en"})
    assert "This address receives a form" in english.text
    assert "Esta página no existe." in client.get("/no-such-page", params={"lang": "es"}).text
