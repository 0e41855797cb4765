"""Invented place names for the demo city (Spanish, plausible, deliberately generic)."""

from __future__ import annotations

import numpy as np

LOCALIDAD_NAMES: tuple[str, ...] = (
    "Centro Histórico",
    "La Ribera",
    "Los Cerros",
    "El Llano",
    "San Mateo",
    "La Esperanza",
    "Nororiental",
    "Suroccidental",
    "Las Palmas",
    "El Progreso",
    "Santa Lucía",
    "Los Almendros",
    "La Frontera",
    "El Mirador",
    "Las Acacias",
    "San Rafael",
    "Villa Nueva",
    "El Porvenir",
    "Los Guayacanes",
    "La Libertad",
    "El Bosque",
    "Las Brisas",
    "San Luis",
    "La Floresta",
    "Los Samanes",
    "El Rosal",
    "La Victoria",
    "Santa Teresa",
    "Los Olivos",
    "El Recreo",
    "La Aurora",
    "San Judas",
    "El Carmen",
    "Las Américas",
    "Bellavista",
    "El Salado",
    "La Playa",
    "Los Pinos",
    "La Pradera",
    "San Gerardo",
)

_FIRST: tuple[str, ...] = (
    "San",
    "Santa",
    "La",
    "El",
    "Los",
    "Las",
    "Villa",
    "Urbanización",
    "Barrio",
    "Conjunto",
)
_AFTER: dict[str, tuple[str, ...]] = {
    "San": (
        "Martín",
        "José",
        "Miguel",
        "Rafael",
        "Luis",
        "Mateo",
        "Antonio",
        "Pedro",
        "Judas",
        "Gerardo",
        "Andrés",
        "Fernando",
        "Bernardo",
        "Cayetano",
        "Isidro",
    ),
    "Santa": ("Ana", "Lucía", "Teresa", "Clara", "Helena", "Mónica", "Rosa", "Inés", "Bárbara"),
    "La": (
        "Esperanza",
        "Aurora",
        "Floresta",
        "Primavera",
        "Libertad",
        "Pradera",
        "Colina",
        "Cabrera",
        "Merced",
        "Insula",
        "Ceiba",
        "Quinta",
        "Loma",
        "Playa",
        "Victoria",
    ),
    "El": (
        "Progreso",
        "Porvenir",
        "Recreo",
        "Rosal",
        "Carmen",
        "Salado",
        "Mirador",
        "Bosque",
        "Trapiche",
        "Contento",
        "Paraíso",
        "Rodeo",
        "Llano",
        "Cerrito",
        "Palmar",
    ),
    "Los": (
        "Almendros",
        "Pinos",
        "Olivos",
        "Samanes",
        "Guayacanes",
        "Acacios",
        "Caobos",
        "Patios",
        "Alpes",
        "Andes",
        "Naranjos",
        "Mangos",
    ),
    "Las": (
        "Palmas",
        "Brisas",
        "Acacias",
        "Américas",
        "Margaritas",
        "Delicias",
        "Flores",
        "Mercedes",
        "Ceibas",
        "Granjas",
    ),
    "Villa": (
        "del Río",
        "Nueva",
        "Sol",
        "Camila",
        "Luz",
        "del Prado",
        "Olímpica",
        "Sandra",
        "Rosa",
        "Antigua",
    ),
    "Urbanización": (
        "El Bosque",
        "Prados del Este",
        "Los Ángeles",
        "Tasajero",
        "Guaimaral",
        "Bellavista",
        "Niza",
        "La Riviera",
    ),
    "Barrio": (
        "Obrero",
        "Nuevo",
        "Popular",
        "Colón",
        "Bolívar",
        "Santander",
        "Sevilla",
        "Cundinamarca",
        "Chapinero",
    ),
    "Conjunto": ("Altos del Norte", "Balcones", "Mirador del Sol", "Torres del Parque"),
}
_INFORMAL: tuple[str, ...] = (
    "Nueva Ilusión",
    "Camilo Torres",
    "El Paraíso",
    "Brisas del Río",
    "Los Desplazados",
    "Nuevo Horizonte",
    "La Fortaleza",
    "Villa Esperanza",
    "El Rodeo Alto",
    "Tierra Prometida",
    "Divino Niño",
    "La Invasión",
    "Nueva Frontera",
    "Sol Naciente",
    "Los Pinitos",
)


def localidad_names(count: int) -> list[str]:
    """The first ``count`` names, numbered when the list runs out."""
    names = list(LOCALIDAD_NAMES[:count])
    names += [f"Localidad {index + 1}" for index in range(len(names), count)]
    return names


def barrio_names(informal: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Unique barrio names; informal settlements get names typical of them ("Asentamiento ...")."""
    used: dict[str, int] = {}
    names: list[str] = []
    for is_informal in informal:
        if is_informal:
            base = "Asentamiento " + _INFORMAL[int(rng.integers(len(_INFORMAL)))]
        else:
            first = _FIRST[int(rng.integers(len(_FIRST)))]
            options = _AFTER[first]
            base = f"{first} {options[int(rng.integers(len(options)))]}"
        count = used.get(base, 0) + 1
        used[base] = count
        names.append(base if count == 1 else f"{base} {_roman(count)}")
    return names


def _roman(number: int) -> str:
    numerals = ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    out = ""
    for value, letters in numerals:
        while number >= value:
            out += letters
            number -= value
    return out
