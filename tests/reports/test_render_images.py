"""PDF images: the page's inline (base64) images reach WeasyPrint by reference, not through
its HTML parser (issue #21: a profile's ~1 MB of base64 text was parsed character by
character); the PDF holds the same images."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

from PIL import Image

from inclusive_cities.reports.render import _lifted_images, to_pdf


def _png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _page(*images: bytes) -> str:
    tags = "".join(
        f'<img src="data:image/png;base64,{base64.b64encode(image).decode()}">' for image in images
    )
    return f"<html><body><p>report-image:7 stays text</p>{tags}</body></html>"


def test_inline_images_are_lifted_with_their_bytes() -> None:
    first, second = _png(37, 23, (200, 30, 30)), _png(11, 5, (0, 90, 180))
    page, images = _lifted_images(_page(first, second))
    assert images == [("image/png", first), ("image/png", second)]
    assert "base64" not in page
    assert re.findall(r'src="([^"]+)"', page) == ["report-image:0", "report-image:1"]
    assert "report-image:7 stays text" in page


def test_the_pdf_holds_each_image_at_its_size(tmp_path: Path) -> None:
    out = tmp_path / "images.pdf"
    assert to_pdf(_page(_png(37, 23, (200, 30, 30)), _png(11, 5, (0, 90, 180))), out) == 1
    pdf = out.read_bytes()
    sizes = set(re.findall(rb"/Width (\d+)\s*/Height (\d+)", pdf))
    assert {(b"37", b"23"), (b"11", b"5")} <= sizes
