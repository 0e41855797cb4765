"""Dates in survey answers, as KoBo, Excel and people write them."""

from __future__ import annotations

import pandas as pd


def read_dates(values: pd.Series) -> pd.Series:
    """Dates as KoBo and Excel write them: ``2020-02-29`` (with or without a time) or, typed
    by hand, ``29/02/2020`` — always day first, as the region writes dates. Anything else is
    NaT (the caller names the row).

    pandas alone guesses the order from the first value: a round whose first date was
    02/02/2021 refused 29/02/2020 further down, and one whose days were all 12 or less would
    have been read month first without a word (trial #4 F15)."""
    text = values.astype("string").str.strip()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    iso = text.str.match(r"^\d{4}-\d{2}-\d{2}(?:[ T]|$)").fillna(False).to_numpy(dtype=bool)
    out[iso] = pd.to_datetime(text[iso].str[:10], format="%Y-%m-%d", errors="coerce")
    pattern = r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$"
    parts = text.str.extract(pattern)
    written = parts[0].notna().to_numpy(dtype=bool) & ~iso
    day_first = parts[0] + "/" + parts[1] + "/" + parts[2]
    out[written] = pd.to_datetime(day_first[written], format="%d/%m/%Y", errors="coerce")
    return out
