"""Write data/co2_mauna_loa_weekly.csv from the copy of the Mauna Loa weekly CO₂ record that statsmodels ships.

Run once, from the repository root, by a maintainer (the book never regenerates the file):

    .venv/bin/pip install "statsmodels==0.15.0" && .venv/bin/python data/make_co2.py

statsmodels' ``datasets.co2`` holds C. D. Keeling and T. P. Whorf's weekly averages (Scripps Institution of
Oceanography, via CDIAC, obtained by statsmodels on 2014-03-15), which it marks public domain. The CSV keeps
every week of ``load_pandas()`` in order: ``date`` (ISO 8601; each a Saturday, seven days after the one before;
statsmodels does not say whether it starts, ends or falls inside the week averaged) and ``co2`` (ppmv, one
decimal; empty where the week has no measurement).
"""

from __future__ import annotations

from pathlib import Path

import statsmodels
import statsmodels.api as sm

OUT = Path(__file__).resolve().parent / "co2_mauna_loa_weekly.csv"


def main() -> None:
    co2 = sm.datasets.co2.load_pandas().data["co2"]
    lines = ["date,co2"]
    for day, value in co2.items():
        lines.append(f"{day.date().isoformat()},{'' if value != value else f'{value:.1f}'}")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT.name}: {len(co2)} weeks, {int(co2.isna().sum())} without a value "
          f"(statsmodels {statsmodels.__version__})")


if __name__ == "__main__":
    main()
