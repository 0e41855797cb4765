"""The synthetic demo city: a plausible Latin American city in the observatory's input formats.

    >>> from inclusive_cities.demo import generate_city
    >>> city = generate_city("demo-city", size="small", seed=0)  # doctest: +SKIP
    >>> city.persons, city.venezuelan_share  # doctest: +SKIP

Everything it writes says plainly that it is SYNTHETIC DEMO DATA; the file layout is the
contract in docs/data-formats/demo-city.md.
"""

from inclusive_cities.demo.errors import DemoError
from inclusive_cities.demo.generate import CITY_CODE, CITY_NAME, FILES, GeneratedCity, generate_city
from inclusive_cities.demo.sizes import PUBLIC_SIZES, SIZES

__all__ = [
    "CITY_CODE",
    "CITY_NAME",
    "FILES",
    "PUBLIC_SIZES",
    "SIZES",
    "DemoError",
    "GeneratedCity",
    "generate_city",
]
