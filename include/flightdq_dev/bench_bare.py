"""The bare passes `make bench` compares flightdq with.

`python bench_bare.py raw RAW_DAY_FOLDER`: what any flight segmentation of a raw day needs at the least,
the bar for the local ETL: read every snapshot of the day (plain and gzipped JSON), unnest its states,
cast the fields the flights are made of, and deliver them sorted by (icao24, last_contact). Prints
the number of states.

`python bench_bare.py LAKE FIRST LAST`, the bar for `flightdq validate`: what the checks must compute over
the processed Parquet files, hand-written for DuckDB, with nothing around it (no catalog, no
history, no raw listing, no policy, no flightdq import).

For the days FIRST..LAST: every row rule of the suite counted per day (and the rows breaking any),
distinct flight_ids, the newest last_seen; and the hourly flight counts of those days and the four
weeks before them. Run as a script (`python bench_bare.py LAKE FIRST LAST`), not as a module, so
that not even the `flightdq_dev` package is imported. It prints one line per day.
"""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path


def _outside(column: str, low: float, high: float) -> str:
    return f"NOT isnan({column}) AND ({column} < {low} OR {column} > {high})"


RULES = {  # rule -> DuckDB predicate, TRUE for a failing row (missing doubles: NULL or NaN)
    "flight_id_not_null": "flight_id IS NULL",
    "icao24_not_null": "icao24 IS NULL",
    "origin_country_not_null": "origin_country IS NULL",
    "first_seen_not_null": "first_seen IS NULL",
    "last_seen_not_null": "last_seen IS NULL",
    "position_count_not_null": "position_count IS NULL",
    "flight_id_format": "NOT regexp_full_match(flight_id, '[0-9a-f]{6}-[0-9]+\\n?')",
    "icao24_format": "NOT regexp_full_match(icao24, '[0-9a-f]{6}\\n?')",
    "callsign_format": "NOT regexp_full_match(callsign, '[A-Z0-9]{2,8}\\n?')",
    "squawk_format": "NOT regexp_full_match(squawk, '[0-7]{4}\\n?')",
    "position_count_at_least_one": "position_count < 1",
    "first_latitude_range": _outside("first_latitude", -90, 90),
    "last_latitude_range": _outside("last_latitude", -90, 90),
    "first_longitude_range": _outside("first_longitude", -180, 180),
    "last_longitude_range": _outside("last_longitude", -180, 180),
    "max_baro_altitude_range": _outside("max_baro_altitude", -500, 20000),
    "max_velocity_range": _outside("max_velocity", 0, 700),
    "first_seen_not_after_last_seen": "last_seen < first_seen",
    "first_seen_within_day": "first_seen < day_start OR first_seen >= day_start + INTERVAL 1 DAY",
    "last_seen_within_day": "last_seen < day_start OR last_seen >= day_start + INTERVAL 1 DAY",
}


def files(lake: Path, first: date, last: date) -> list[str]:
    root = lake / "flightdata-processed" / "flightdata_processed"
    return [
        str(path)
        for folder in sorted(root.glob("dt=*"))
        if str(first) <= folder.name.removeprefix("dt=") <= str(last)
        for path in sorted(folder.glob("*.parquet"))
    ]


def main(lake: Path, first: date, last: date) -> None:
    import duckdb

    connection = duckdb.connect(config={"threads": 2})
    connection.execute("SET TimeZone = 'UTC'")

    def table(paths: list[str]) -> str:
        return f"read_parquet({paths!r}, hive_partitioning = true, hive_types = {{'dt': VARCHAR}})"

    failing = ", ".join(f"coalesce({p}, false) AS {r}" for r, p in RULES.items())
    counts = ", ".join(f"count_if({r})" for r in RULES)
    rows = connection.execute(
        f"""
        SELECT dt, count(*), count_if({" OR ".join(RULES)}), {counts},
               count(DISTINCT flight_id), max(last_seen)
        FROM (SELECT dt, flight_id, last_seen, {failing}
              FROM (SELECT *, CAST(dt AS TIMESTAMPTZ) AS day_start FROM {table(files(lake, first, last))}))
        GROUP BY dt ORDER BY dt
        """
    ).fetchall()
    hourly = connection.execute(
        f"""
        SELECT dt, (epoch_us(first_seen) // 3600000000) % 24 AS hour, count(*)
        FROM {table(files(lake, first - timedelta(weeks=4), last))}
        GROUP BY ALL
        """
    ).fetchall()
    for row in rows:
        print(row[0], row[1], row[2], row[-2], row[-1], sum(1 for h in hourly if h[0] == row[0]))


def raw_pass(day_folder: Path) -> None:
    import duckdb

    paths = sorted(str(p) for p in day_folder.rglob("states_*.json*"))
    # 4 GB: an unbounded sort of a 10-s day would take most of a shared 24 GB machine
    connection = duckdb.connect(config={"threads": 2, "memory_limit": "4GB"})
    sql = """
        SELECT lower(trim(st[1])) AS icao24, nullif(trim(st[2]), '') AS callsign, st[3] AS origin_country,
               CAST(st[5] AS BIGINT) AS last_contact, CAST(st[6] AS DOUBLE) AS longitude,
               CAST(st[7] AS DOUBLE) AS latitude, CAST(st[8] AS DOUBLE) AS baro_altitude,
               CAST(st[10] AS DOUBLE) AS velocity, st[15] AS squawk
        FROM (SELECT unnest(states) AS st
              FROM read_json($files, columns = {'states': 'VARCHAR[][]'}, format = 'unstructured',
                             records = true, maximum_object_size = 67108864))
        ORDER BY icao24, last_contact
    """
    states = 0
    for batch in connection.sql(sql, params={"files": paths}).to_arrow_reader(1_000_000):
        states += batch.num_rows
    print(states)


if __name__ == "__main__":
    if sys.argv[1] == "raw":
        raw_pass(Path(sys.argv[2]))
    else:
        main(Path(sys.argv[1]), date.fromisoformat(sys.argv[2]), date.fromisoformat(sys.argv[3]))
