"""The ETL job `flightdata-etl` (flightdq.etl.transform): the transform rules of the contract, the atomic
replacement of a partition, crash recovery and the command line. Snapshots are written by hand."""

from __future__ import annotations

import ast
import gzip
import itertools
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flightdq.core import layout
from flightdq.core.contract import PROCESSED_COLUMN_NAMES, processed_arrow_schema
from flightdq.etl import transform as etl
from flightdq.recovery.publish import ShrinkRefused, rebuild_local

DAY = date(2026, 11, 20)
T0 = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())  # DAY 00:00 UTC
NEXT_T0 = T0 + 86400


def state(
    icao24: str = "3c6444",
    last_contact: int = T0 + 3600,
    *,
    callsign: str | None = "DLH400  ",
    country: str | None = "Germany",
    lat: float | None = 50.0,
    lon: float | None = 8.5,
    alt: float | None = 10000.0,
    velocity: float | None = 230.0,
    squawk: str | None = "1000",
    time_position: int | None = -1,
    category: int | None = None,
) -> list:
    """One OpenSky state vector (17 fields, 18 with a category)."""
    vector = [
        icao24,
        callsign,
        country,
        last_contact - 1 if time_position == -1 else time_position,
        last_contact,
        lon,
        lat,
        alt,
        False,
        velocity,
        90.0,
        0.0,
        None,
        alt,
        squawk,
        False,
        0,
    ]
    return [*vector, category] if category is not None else vector


def write_snapshot(lake: Path, time: int, states: list | None, *, gz: bool = False) -> Path:
    """A raw object where the ingestion Lambda would put it: by the snapshot's `time`."""
    moment = datetime.fromtimestamp(time, UTC)
    path = lake / "flightdata-raw" / layout.raw_key(moment.date(), moment.hour, time, gzip=gz)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"time": time, "states": states}).encode()
    path.write_bytes(gzip.compress(body) if gz else body)
    return path


def rows_of(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def ts(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def partition_dir(lake: Path, day: date = DAY) -> Path:
    return lake / "flightdata-processed" / layout.processed_partition_prefix(day)


def read_partition(lake: Path, day: date = DAY) -> pa.Table:
    return pq.ParquetFile(partition_dir(lake, day) / "part-00000.parquet").read()


def leftovers(lake: Path) -> list[str]:
    """Everything in the processed prefix except partitions and the per-day lock and published
    markers, and any run folder left inside a partition."""
    root = lake / "flightdata-processed" / "flightdata_processed"
    return sorted(
        p.name
        for p in root.iterdir()
        if not p.name.startswith("dt=") and not p.name.endswith((".lock", ".published"))
    ) + sorted(p.relative_to(root).as_posix() for p in root.glob("dt=*/run=*"))


# --- transform rules -------------------------------------------------------------------------------


def test_gzip_and_plain_snapshots_mix_in_one_day(tmp_path: Path) -> None:
    plain = write_snapshot(tmp_path, T0 + 600, [state("aaaaaa", T0 + 598), state("bbbbbb", T0 + 599)])
    zipped = write_snapshot(tmp_path, T0 + 900, [state("aaaaaa", T0 + 897)], gz=True)
    empty = write_snapshot(tmp_path, T0 + 1200, None, gz=True)

    table = etl.transform_day([zipped, empty, plain], DAY)

    assert [(r["flight_id"], r["position_count"]) for r in rows_of(table)] == [
        (f"aaaaaa-{T0 + 598}", 2),
        (f"bbbbbb-{T0 + 599}", 1),
    ]
    outcome = rebuild_local(tmp_path, DAY)
    assert (outcome.rows, outcome.raw_objects, outcome.raw_states) == (2, 3, 3)
    assert outcome.files == [f"flightdata-processed/flightdata_processed/dt={DAY}/part-00000.parquet"]
    assert read_partition(tmp_path).equals(table)


def test_no_files_or_only_null_states_give_an_empty_table_with_the_schema(tmp_path: Path) -> None:
    nothing = etl.transform_day([], DAY)
    only_nulls = etl.transform_day(
        [
            write_snapshot(tmp_path, T0 + 60, None),
            write_snapshot(tmp_path, T0 + 360, None, gz=True),
            write_snapshot(tmp_path, T0 + 660, []),
        ],
        DAY,
    )
    for table in (nothing, only_nulls):
        assert table.num_rows == 0
        assert table.schema.equals(processed_arrow_schema())

    outcome = rebuild_local(tmp_path, DAY)
    assert (outcome.rows, outcome.raw_objects, outcome.raw_states) == (0, 3, 0)
    assert read_partition(tmp_path).schema.equals(processed_arrow_schema())


def test_output_schema_is_exactly_the_contract_in_memory_and_in_the_file(tmp_path: Path) -> None:
    write_snapshot(tmp_path, T0 + 600, [state("abcdef", T0 + 590, callsign=None, lat=None)])
    table = etl.transform_day(etl._raw_files(tmp_path, DAY), DAY)
    rebuild_local(tmp_path, DAY)

    stored = pq.ParquetFile(partition_dir(tmp_path) / "part-00000.parquet")
    for schema in (table.schema, stored.schema_arrow):
        assert schema.equals(processed_arrow_schema())  # types, nullability and order
        assert tuple(schema.names) == PROCESSED_COLUMN_NAMES
    assert "dt" not in stored.schema_arrow.names  # the partition key lives in the path only
    assert str(stored.schema_arrow.field("first_seen").type) == "timestamp[us, tz=UTC]"
    timestamp = json.loads(stored.schema.column(4).logical_type.to_json())  # what Athena reads
    assert (timestamp["Type"], timestamp["isAdjustedToUTC"], timestamp["timeUnit"]) == (
        "Timestamp",
        True,
        "microseconds",
    )
    assert stored.metadata.row_group(0).column(0).compression == "ZSTD"


def test_callsign_and_icao24_are_trimmed_and_an_empty_callsign_is_null(tmp_path: Path) -> None:
    snapshot = write_snapshot(
        tmp_path,
        T0 + 600,
        [
            state(" ABCDEF ", T0 + 100, callsign="  KLM12 "),
            state("abcdef", T0 + 200, callsign="KLM12"),  # same aircraft, same callsign once trimmed
            state("a1b2c3", T0 + 300, callsign="        "),
            state("a1b2c3", T0 + 400, callsign=""),
            state("a1b2c3", T0 + 500, callsign=None),  # blank and null are one and the same value
        ],
    )
    rows = rows_of(etl.transform_day([snapshot], DAY))

    assert [(r["flight_id"], r["icao24"], r["callsign"], r["position_count"]) for r in rows] == [
        (f"a1b2c3-{T0 + 300}", "a1b2c3", None, 3),
        (f"abcdef-{T0 + 100}", "abcdef", "KLM12", 2),
    ]


def test_nulls_allowed_by_the_api_are_handled_field_by_field(tmp_path: Path) -> None:
    snapshot = write_snapshot(
        tmp_path,
        T0 + 7200,
        [
            state(
                "c0ffee",
                T0 + 1000,
                lat=None,
                lon=None,
                alt=None,
                velocity=None,
                squawk=None,
                time_position=None,
            ),
            state("c0ffee", T0 + 1100, lat=51.0, lon=None, alt=9000.0, velocity=None, squawk="7000"),
            state(
                "c0ffee", T0 + 1200, lat=52.0, lon=9.0, alt=None, velocity=210.0, squawk=None
            ),  # 1st position
            state("c0ffee", T0 + 1300, lat=53.0, lon=10.0, alt=8000.0, velocity=None, squawk="1234"),  # last
            state(
                "c0ffee", T0 + 1400, lat=None, lon=11.0, alt=None, velocity=None, squawk=None, country=None
            ),
            # an aircraft that never reported anything optional
            state(
                "deadbe",
                T0 + 1000,
                callsign=None,
                lat=None,
                lon=None,
                alt=None,
                velocity=None,
                squawk=None,
                time_position=None,
            ),
        ],
    )
    first, second = rows_of(etl.transform_day([snapshot], DAY))

    assert first == {
        "flight_id": f"c0ffee-{T0 + 1000}",
        "icao24": "c0ffee",
        "callsign": "DLH400",
        "origin_country": "Germany",
        "first_seen": ts(T0 + 1000),
        "last_seen": ts(T0 + 1400),
        "position_count": 5,
        "first_latitude": 52.0,
        "first_longitude": 9.0,
        "last_latitude": 53.0,
        "last_longitude": 10.0,
        "max_baro_altitude": 9000.0,
        "max_velocity": 210.0,
        "squawk": "1234",
    }
    assert second == {
        "flight_id": f"deadbe-{T0 + 1000}",
        "icao24": "deadbe",
        "callsign": None,
        "origin_country": "Germany",
        "first_seen": ts(T0 + 1000),
        "last_seen": ts(T0 + 1000),
        "position_count": 1,
        "first_latitude": None,
        "first_longitude": None,
        "last_latitude": None,
        "last_longitude": None,
        "max_baro_altitude": None,
        "max_velocity": None,
        "squawk": None,
    }


def test_origin_country_is_the_latest_non_null_one(tmp_path: Path) -> None:
    snapshot = write_snapshot(
        tmp_path,
        T0 + 600,
        [
            state("abc123", T0 + 100, country="France"),
            state("abc123", T0 + 200, country="Germany"),
            state("abc123", T0 + 300, country=None),
        ],
    )
    assert rows_of(etl.transform_day([snapshot], DAY))[0]["origin_country"] == "Germany"


def test_a_state_repeated_in_later_snapshots_counts_once(tmp_path: Path) -> None:
    repeated = state("4ca7b5", T0 + 1000)  # not heard again: every later poll returns the same state
    files = [
        write_snapshot(tmp_path, T0 + 1005, [repeated]),
        write_snapshot(tmp_path, T0 + 1015, [repeated, state("4ca7b5", T0 + 1012)], gz=True),
        write_snapshot(tmp_path, T0 + 1025, [repeated, state("4ca7b5", T0 + 1012)]),
    ]
    rows = rows_of(etl.transform_day(files, DAY))

    assert [(r["flight_id"], r["position_count"], r["last_seen"]) for r in rows] == [
        (f"4ca7b5-{T0 + 1000}", 2, ts(T0 + 1012))
    ]
    assert rebuild_local(tmp_path, DAY).raw_states == 5  # counted before de-duplication


def test_a_repeat_counts_once_per_callsign_and_never_splits_or_stretches_a_flight(tmp_path: Path) -> None:
    """A repeat counts once and its first and last values are its earliest copy's (earliest snapshot);
    a state with the same last_contact but another callsign is no repeat (the API changed the
    callsign): it belongs to that callsign's flight. Copies that disagree (never in the API's data)
    all reach the maxima."""
    first = state("4ca7b5", T0 + 1000, lat=50.0, alt=9000.0)
    files = [
        write_snapshot(tmp_path, T0 + 1005, [first]),
        write_snapshot(tmp_path, T0 + 1010, [state("4ca7b5", T0 + 1000, lat=51.0, alt=12000.0)]),  # copy
        write_snapshot(tmp_path, T0 + 1015, [state("4ca7b5", T0 + 1000, callsign="DLH401")]),
        write_snapshot(tmp_path, T0 + 2900, [state("4ca7b5", T0 + 2800)]),  # 30 min after: same flight
    ]
    rows = {r["callsign"]: r for r in rows_of(etl.transform_day(files, DAY))}
    assert set(rows) == {"DLH400", "DLH401"}
    assert (rows["DLH400"]["position_count"], rows["DLH400"]["first_latitude"]) == (2, 50.0)
    assert rows["DLH400"]["max_baro_altitude"] == 12000.0
    assert rows["DLH400"]["first_seen"] == ts(T0 + 1000) and rows["DLH400"]["last_seen"] == ts(T0 + 2800)
    assert rows["DLH401"]["position_count"] == 1


def test_position_count_is_exact_at_every_second_of_a_slice_however_often_a_state_repeats(
    tmp_path: Path,
) -> None:
    """position_count counts distinct last_contacts in each 30-minute slice with one 60-bit mask per
    minute: every second of a minute, the first and last second of a slice and of the day count
    once each, however often their state is repeated, per callsign (null included)."""
    seconds = [
        *(0, 59, 60, 1799, 1800, 1801),  # the first and last second of slice 0 and of its minutes
        *range(600, 720),  # two whole minutes: every bit of two masks
        *(86400 - 61, 86400 - 60, 86400 - 1),  # the day's last slice: its minute 29, bit 59 last
    ]
    heard = [state("abcdef", T0 + s) for s in seconds]
    unnamed = [state("abcdef", T0 + s, callsign=None) for s in (5, 64, 65, 605, 606, 1804, 1805, 1806)]
    files = [
        write_snapshot(tmp_path, T0 + 1000, heard + unnamed),
        write_snapshot(tmp_path, T0 + 1010, heard[::2] + unnamed, gz=True),  # repeats
        write_snapshot(tmp_path, T0 + 1020, [*heard[1::3], state("abcdef", T0 + 61), *unnamed[:3]]),
    ]
    rows = rows_of(etl.transform_day(files, DAY))

    assert [(r["flight_id"], r["callsign"], r["position_count"], r["last_seen"]) for r in rows] == [
        (f"abcdef-{T0}", "DLH400", 7 + 120, ts(T0 + 1801)),  # 0-61 and 1799-1801, 600-719
        (f"abcdef-{T0 + 5}", None, 8, ts(T0 + 1806)),
        (f"abcdef-{NEXT_T0 - 61}", "DLH400", 3, ts(NEXT_T0 - 1)),
    ]
    assert rows == _reference(files, DAY)


def test_a_31_minute_gap_splits_a_flight_and_a_29_minute_gap_does_not(tmp_path: Path) -> None:
    snapshot = write_snapshot(
        tmp_path,
        T0 + 20000,
        [
            state("aaaaaa", T0 + 1000),
            state("aaaaaa", T0 + 1000 + 29 * 60),  # 29 min: same flight
            state("bbbbbb", T0 + 1000),
            state("bbbbbb", T0 + 1000 + 31 * 60),  # 31 min: two flights
            state("cccccc", T0 + 1000),
            state("cccccc", T0 + 1000 + 1800),  # exactly 30 min: not "more than"
            state("dddddd", T0 + 1000),
            state("dddddd", T0 + 1000 + 1801),
        ],
    )
    rows = rows_of(etl.transform_day([snapshot], DAY))

    assert [(r["flight_id"], r["position_count"]) for r in rows] == [
        (f"aaaaaa-{T0 + 1000}", 2),
        (f"bbbbbb-{T0 + 1000}", 1),
        (f"bbbbbb-{T0 + 1000 + 31 * 60}", 1),
        (f"cccccc-{T0 + 1000}", 2),
        (f"dddddd-{T0 + 1000}", 1),
        (f"dddddd-{T0 + 2801}", 1),
    ]


def test_a_callsign_change_splits_a_flight(tmp_path: Path) -> None:
    snapshot = write_snapshot(
        tmp_path,
        T0 + 5000,
        [
            state("3c6444", T0 + 1000, callsign=None),  # callsign not yet received
            state("3c6444", T0 + 1010, callsign="DLH400  "),
            state("3c6444", T0 + 1020, callsign="DLH400  "),
            state("3c6444", T0 + 1030, callsign="DLH401  "),
            state("3c6444", T0 + 1040, callsign="DLH400  "),  # back: the gap to 1020 is short, same flight
        ],
    )
    rows = rows_of(etl.transform_day([snapshot], DAY))

    assert [(r["flight_id"], r["callsign"], r["position_count"], r["last_seen"]) for r in rows] == [
        (f"3c6444-{T0 + 1000}", None, 1, ts(T0 + 1000)),
        (f"3c6444-{T0 + 1010}", "DLH400", 3, ts(T0 + 1040)),
        (f"3c6444-{T0 + 1030}", "DLH401", 1, ts(T0 + 1030)),
    ]
    assert len({r["flight_id"] for r in rows}) == len(rows)


def test_a_flight_crossing_midnight_is_cut_and_each_day_keeps_its_own_states(tmp_path: Path) -> None:
    write_snapshot(tmp_path, NEXT_T0 - 300, [state("abcdef", NEXT_T0 - 310), state("abcdef", NEXT_T0 - 302)])
    write_snapshot(tmp_path, NEXT_T0 - 2, [state("abcdef", NEXT_T0 - 302), state("abcdef", NEXT_T0 - 5)])
    # The first poll after midnight still carries a state of the previous day: day D+1 drops it and
    # day D never reads D+1's folder.
    write_snapshot(
        tmp_path, NEXT_T0 + 5, [state("abcdef", NEXT_T0 - 1), state("fedcba", NEXT_T0 + 2)], gz=True
    )
    write_snapshot(tmp_path, NEXT_T0 + 300, [state("abcdef", NEXT_T0 + 290)])

    rebuild_local(tmp_path, DAY)
    rebuild_local(tmp_path, DAY + timedelta(days=1))
    today = rows_of(read_partition(tmp_path, DAY))
    tomorrow = rows_of(read_partition(tmp_path, DAY + timedelta(days=1)))

    assert [(r["flight_id"], r["first_seen"], r["last_seen"], r["position_count"]) for r in today] == [
        (f"abcdef-{NEXT_T0 - 310}", ts(NEXT_T0 - 310), ts(NEXT_T0 - 5), 3)
    ]
    assert [(r["flight_id"], r["first_seen"], r["last_seen"], r["position_count"]) for r in tomorrow] == [
        (f"abcdef-{NEXT_T0 + 290}", ts(NEXT_T0 + 290), ts(NEXT_T0 + 290), 1),
        (f"fedcba-{NEXT_T0 + 2}", ts(NEXT_T0 + 2), ts(NEXT_T0 + 2), 1),
    ]
    for rows, start in ((today, T0), (tomorrow, NEXT_T0)):
        assert all(ts(start) <= r["first_seen"] <= r["last_seen"] < ts(start + 86400) for r in rows)


def test_states_with_18_fields_and_a_category_mix_with_17_field_states(tmp_path: Path) -> None:
    snapshot = write_snapshot(
        tmp_path,
        T0 + 600,
        [
            state("aaaaaa", T0 + 100, category=4),
            state("aaaaaa", T0 + 200, alt=12000.0),
            state("bbbbbb", T0 + 150, category=0),
        ],
    )
    rows = rows_of(etl.transform_day([snapshot], DAY))

    assert [(r["flight_id"], r["position_count"], r["max_baro_altitude"]) for r in rows] == [
        (f"aaaaaa-{T0 + 100}", 2, 12000.0),
        (f"bbbbbb-{T0 + 150}", 1, 10000.0),
    ]


def test_out_of_range_values_pass_through_unchanged_for_the_checks_to_see(tmp_path: Path) -> None:
    snapshot = write_snapshot(
        tmp_path,
        T0 + 600,
        [
            state(
                "ZZZZZZZZ",
                T0 + 100,
                callsign="bad call!",
                lat=123.4,
                lon=-999.0,
                alt=-4000.0,
                velocity=-3.5,
                squawk="9999",
                country="",
            ),
        ],
    )
    (row,) = rows_of(etl.transform_day([snapshot], DAY))

    assert (row["icao24"], row["callsign"], row["origin_country"], row["squawk"]) == (
        "zzzzzzzz",
        "bad call!",
        "",
        "9999",
    )
    assert (row["first_latitude"], row["first_longitude"], row["max_baro_altitude"], row["max_velocity"]) == (
        123.4,
        -999.0,
        -4000.0,
        -3.5,
    )


def test_numbers_keep_their_exact_value(tmp_path: Path) -> None:
    values = [0.30000000000000004, 1 / 3, -179.99999999999997, 5e-324, 12345.678901234567]
    snapshot = write_snapshot(
        tmp_path,
        T0 + 600,
        [state(f"{i:06x}", T0 + 100, lat=v, lon=v, alt=v, velocity=v) for i, v in enumerate(values)],
    )
    rows = rows_of(etl.transform_day([snapshot], DAY))

    assert [r["first_latitude"] for r in rows] == values
    assert [r["max_velocity"] for r in rows] == values


def test_states_without_icao24_or_time_are_no_flights_and_a_flight_without_country_fails(
    tmp_path: Path,
) -> None:
    no_time = [*state("aaaaaa")[:4], None, *state("aaaaaa")[5:]]
    snapshot = write_snapshot(tmp_path, T0 + 600, [state(None, T0 + 100), no_time, state("bbbbbb", T0 + 200)])
    assert [r["icao24"] for r in rows_of(etl.transform_day([snapshot], DAY))] == ["bbbbbb"]

    no_country = write_snapshot(tmp_path, T0 + 900, [state("cccccc", T0 + 800, country=None)])
    with pytest.raises(etl.EtlError, match=rf"dt={DAY}: 1 flight\(s\) have no origin_country"):
        etl.transform_day([no_country], DAY)


def test_a_value_of_the_wrong_type_fails_the_day_loudly_without_quoting_it(tmp_path: Path) -> None:
    snapshot = write_snapshot(tmp_path, T0 + 600, [state("aaaaaa", T0 + 100, lat="north")])
    with pytest.raises(etl.EtlError, match=rf"dt={DAY}: .*ConversionException") as raised:
        etl.transform_day([snapshot], DAY)
    assert "north" not in str(raised.value)  # the engine quotes the value; our message does not


def test_a_day_whose_every_snapshot_is_unreadable_fails_naming_the_day(tmp_path: Path) -> None:
    bad = write_snapshot(tmp_path, T0 + 600, [state("aaaaaa", T0 + 100)])
    bad.write_bytes(b'{"time": 1, "states": [["aaaaaa", ')
    with pytest.raises(etl.EtlError, match=rf"^dt={DAY}: none of its 1 raw snapshots can be read"):
        etl.transform_day([bad], DAY)


@pytest.mark.parametrize(
    "body",
    [
        b'{"time": 1, "states": [["aaaaaa", ',  # malformed JSON
        gzip.compress(b'{"time": 1, "states": []}' * 50)[:40],  # a truncated .json.gz
        b"<html>" + b"x" * 394,  # a 400-byte body that is not JSON
    ],
    ids=["malformed", "truncated-gz", "not-json"],
)
def test_one_unreadable_snapshot_is_left_out_and_named_and_the_day_is_rebuilt(tmp_path: Path, body) -> None:
    """One bad raw object failed the whole day's rebuild, naming neither object nor hour."""
    good = [
        write_snapshot(tmp_path, T0 + 600, [state("aaaaaa", T0 + 100)]),
        write_snapshot(tmp_path, T0 + 7200, [state("bbbbbb", T0 + 7100)]),
    ]
    bad = write_snapshot(tmp_path, T0 + 3700, [state("cccccc", T0 + 3650)], gz=body[:2] == b"\x1f\x8b")
    bad.write_bytes(body)
    table, skipped = etl.transform_day_skipping([*good, bad], DAY)
    assert skipped == [str(bad)]
    assert sorted(table.column("icao24").to_pylist()) == ["aaaaaa", "bbbbbb"]
    outcome = rebuild_local(tmp_path, DAY)
    assert outcome.skipped == [bad.relative_to(tmp_path).as_posix()] and "hour=01" in outcome.skipped[0]
    assert outcome.rows == 2 and outcome.raw_objects == 2


def _reference(files: list[Path], day: date) -> list[dict]:
    """The contract's rules written the slow, obvious way in plain Python."""
    lo = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    seen: dict[tuple[str, str, int], list] = {}  # a repeat: same icao24, callsign and last_contact
    for path in sorted(files, key=lambda p: (p.name, str(p))):
        raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        for s in json.loads(raw)["states"] or []:
            if lo <= s[4] < lo + 86400:
                seen.setdefault((s[0].strip().lower(), (s[1] or "").strip(), s[4]), s)
    groups: dict[tuple[str, str | None], list[list]] = {}
    for (icao, callsign, _), s in sorted(seen.items()):
        groups.setdefault((icao, callsign or None), []).append(s)
    rows = []
    for (icao, callsign), states in groups.items():
        flights = [[states[0]]]
        for prev, cur in itertools.pairwise(states):
            if cur[4] - prev[4] > 1800:
                flights.append([])
            flights[-1].append(cur)
        for fl in flights:
            pos = [s for s in fl if s[5] is not None and s[6] is not None]
            alts = [s[7] for s in fl if s[7] is not None]
            vels = [s[9] for s in fl if s[9] is not None]
            squawks = [s[14] for s in fl if s[14] is not None]
            rows.append(
                {
                    "flight_id": f"{icao}-{fl[0][4]}",
                    "icao24": icao,
                    "callsign": callsign,
                    "origin_country": [s[2] for s in fl if s[2] is not None][-1],
                    "first_seen": ts(fl[0][4]),
                    "last_seen": ts(fl[-1][4]),
                    "position_count": len(fl),
                    "first_latitude": pos[0][6] if pos else None,
                    "first_longitude": pos[0][5] if pos else None,
                    "last_latitude": pos[-1][6] if pos else None,
                    "last_longitude": pos[-1][5] if pos else None,
                    "max_baro_altitude": max(alts) if alts else None,
                    "max_velocity": max(vels) if vels else None,
                    "squawk": squawks[-1] if squawks else None,
                }
            )
    return sorted(rows, key=lambda r: r["flight_id"])


def test_a_random_day_matches_a_plain_python_reference(tmp_path: Path) -> None:
    rng = random.Random(7)
    callsigns = ["AFR1", "AFR1 ", "BAW22", None, "  "]
    fleet = [(f"{rng.randrange(16**6):06x}", rng.choice(callsigns)) for _ in range(40)]
    last_heard: dict[str, list] = {}
    files = []
    for k in range(28 * 6):  # a poll every 10 minutes from 22:00 the day before to 02:00 the day after
        t = T0 - 7200 + k * 600 + rng.randrange(0, 5)
        states = []
        for icao, callsign in rng.sample(fleet, 15):
            if icao in last_heard and rng.random() < 0.3:  # not heard since: the poll repeats the state
                states.append(last_heard[icao])
                continue

            def maybe(value: object) -> object:
                return None if rng.random() < 0.2 else value

            last_heard[icao] = state(
                icao.upper() if rng.random() < 0.1 else icao,
                t - rng.choice([0, 3, 200, 400]),
                callsign=rng.choice([callsign, callsign, "IBE9"]),
                lat=maybe(round(rng.uniform(-90, 90), 3)),
                lon=maybe(round(rng.uniform(-180, 180), 3)),
                alt=maybe(float(rng.randrange(0, 12000))),
                velocity=maybe(rng.uniform(0, 300)),
                squawk=maybe(f"{rng.randrange(4096):04o}"),
            )
            states.append(last_heard[icao])
        files.append(write_snapshot(tmp_path, t, states, gz=k % 3 == 0))
    in_day = [f for f in files if f"/day={DAY:%d}/" in f.as_posix()]

    expected = _reference(in_day, DAY)
    assert len(expected) > 100  # the random day exercises splits, repeats, case and nulls
    assert rows_of(etl.transform_day(in_day, DAY)) == expected
    outcome = rebuild_local(tmp_path, DAY)
    assert outcome.raw_objects == len(in_day) == 144
    assert rows_of(read_partition(tmp_path)) == expected


# --- the local job: determinism, atomic replacement, recovery ------------------------------------------


def _small_day(lake: Path) -> None:
    write_snapshot(
        lake, T0 + 600, [state("aaaaaa", T0 + 590), state("bbbbbb", T0 + 595, callsign=None)], gz=True
    )
    write_snapshot(lake, T0 + 900, [state("aaaaaa", T0 + 890), state("cccccc", T0 + 899)])
    write_snapshot(lake, T0 + 4000, [state("aaaaaa", T0 + 3999)])


def test_running_twice_gives_identical_rows_and_flight_ids(tmp_path: Path) -> None:
    _small_day(tmp_path)
    first = rebuild_local(tmp_path, DAY)
    first_table = read_partition(tmp_path)
    second = rebuild_local(tmp_path, DAY)
    second_table = read_partition(tmp_path)

    assert replace(first, replaced="") == replace(second, replaced="")
    assert first.replaced.startswith("replaced an unreadable or missing partition")
    assert second.replaced == "replaced 4 flights in 2 hours with 4 flights in 2 hours"  # audited
    assert first_table.num_rows == 4
    assert first_table.equals(second_table)
    assert first_table.column("flight_id").to_pylist() == second_table.column("flight_id").to_pylist()
    assert first_table.column("flight_id").to_pylist() == sorted(first_table.column("flight_id").to_pylist())
    raw = etl._raw_files(tmp_path, DAY)
    assert etl.transform_day(raw, DAY).equals(etl.transform_day(list(reversed(raw)), DAY))  # order-free
    assert leftovers(tmp_path) == []


def test_a_failure_after_writing_the_staging_files_changes_nothing(tmp_path: Path) -> None:
    _small_day(tmp_path)
    rebuild_local(tmp_path, DAY)
    part = partition_dir(tmp_path) / "part-00000.parquet"
    before = part.read_bytes()
    write_snapshot(tmp_path, T0 + 7200, [state("eeeeee", T0 + 7100)])  # the rerun would add a flight

    with pytest.raises(etl.EtlError, match=rf"dt={DAY}: fault injected"):
        rebuild_local(tmp_path, DAY, fail_after_write=True)

    assert part.read_bytes() == before
    assert sorted(p.name for p in partition_dir(tmp_path).iterdir()) == ["part-00000.parquet"]
    assert leftovers(tmp_path) == []  # no staging folder left behind
    assert rebuild_local(tmp_path, DAY).rows == 5  # and a normal rerun then does replace it


def test_the_partition_is_replaced_whole(tmp_path: Path) -> None:
    _small_day(tmp_path)
    stray = partition_dir(tmp_path) / "part-00001.parquet"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"an old extra file")

    outcome = rebuild_local(tmp_path, DAY)

    assert sorted(p.name for p in partition_dir(tmp_path).iterdir()) == ["part-00000.parquet"]
    assert outcome.rows == read_partition(tmp_path).num_rows == 4


def test_no_raw_data_fails_and_keeps_the_existing_partition(tmp_path: Path) -> None:
    _small_day(tmp_path)
    rebuild_local(tmp_path, DAY)
    before = (partition_dir(tmp_path) / "part-00000.parquet").read_bytes()
    for path in etl._raw_files(tmp_path, DAY):
        path.unlink()

    with pytest.raises(etl.EtlError, match=rf"dt={DAY}: no raw snapshots"):
        rebuild_local(tmp_path, DAY)
    assert (partition_dir(tmp_path) / "part-00000.parquet").read_bytes() == before


def test_a_crash_between_the_two_renames_is_recovered_by_the_next_run(tmp_path: Path) -> None:
    _small_day(tmp_path)
    rebuild_local(tmp_path, DAY)
    part = partition_dir(tmp_path)
    before = (part / "part-00000.parquet").read_bytes()
    # The crash: the old partition was moved away, the verified new one never moved in.
    old = part.with_name(f".dt={DAY}.old-0123")
    part.rename(old)
    staging = part.with_name(f".dt={DAY}.staging-4567")
    staging.mkdir()
    (staging / "part-00000.parquet").write_bytes(b"half written")

    # A run that fails before its publish leaves the old copy as it was (recovery is the publish's);
    # a publish that is refused (a smaller day) recovers first, then keeps the old partition.
    with pytest.raises(etl.EtlError, match="fault injected"):
        rebuild_local(tmp_path, DAY, fail_after_write=True)
    assert (old / "part-00000.parquet").read_bytes() == before
    last_hour = etl._raw_files(tmp_path, DAY)[-1]  # hour 01's only snapshot: its flight goes missing
    aside = last_hour.rename(tmp_path / "aside.json")
    with pytest.raises(ShrinkRefused):
        rebuild_local(tmp_path, DAY)
    aside.rename(last_hour)
    assert (part / "part-00000.parquet").read_bytes() == before
    assert leftovers(tmp_path) == []

    # The same crash again, and a run that succeeds: the rebuilt partition, nothing left over.
    part.rename(old)
    outcome = rebuild_local(tmp_path, DAY)
    assert outcome.rows == read_partition(tmp_path).num_rows == 4
    assert leftovers(tmp_path) == []


def test_a_crash_after_the_swap_leaves_an_old_copy_that_the_next_run_deletes(tmp_path: Path) -> None:
    _small_day(tmp_path)
    rebuild_local(tmp_path, DAY)
    current = read_partition(tmp_path)
    stale = partition_dir(tmp_path).with_name(f".dt={DAY}.old-89ab")
    stale.mkdir()
    (stale / "part-00000.parquet").write_bytes(b"previous partition")

    rebuild_local(tmp_path, DAY)

    assert read_partition(tmp_path).equals(current)  # the partition in place wins over the old copy
    assert leftovers(tmp_path) == []


def test_a_second_publish_of_the_same_day_waits_for_the_one_holding_the_lock(tmp_path, monkeypatch) -> None:
    import fcntl
    import threading

    from flightdq.backends.base import BackendError
    from flightdq.recovery import publish

    _small_day(tmp_path)
    root = partition_dir(tmp_path).parent
    root.mkdir(parents=True)
    with (root / f".dt={DAY}.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        monkeypatch.setattr(publish, "LOCK_WAIT_SECONDS", 0.3)
        with pytest.raises(BackendError, match=rf"dt={DAY}: another repair of this day is still publishing"):
            rebuild_local(tmp_path, DAY)
        assert not any(partition_dir(tmp_path).glob("*.parquet"))  # nothing published
        assert leftovers(tmp_path) == []  # and the run's folder is gone
        monkeypatch.setattr(publish, "LOCK_WAIT_SECONDS", 30.0)
        threading.Timer(1.0, lambda: fcntl.flock(held, fcntl.LOCK_UN)).start()
        started = time.monotonic()
        assert rebuild_local(tmp_path, DAY).rows == 4  # it waited for the lock, then published
        assert time.monotonic() - started >= 0.9


def test_etl_does_not_touch_other_days(tmp_path: Path) -> None:
    _small_day(tmp_path)
    other = DAY - timedelta(days=1)
    write_snapshot(tmp_path, T0 - 600, [state("999999", T0 - 700)])
    rebuild_local(tmp_path, other)
    before = (partition_dir(tmp_path, other) / "part-00000.parquet").read_bytes()

    rebuild_local(tmp_path, DAY)

    assert (partition_dir(tmp_path, other) / "part-00000.parquet").read_bytes() == before
    assert read_partition(tmp_path, other).column("icao24").to_pylist() == ["999999"]


# --- command line ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv", [["--dt", "2026-13-01"], [], ["--dt", "20261120"], ["--dt", DAY.isoformat(), "-x"]]
)
def test_main_rejects_bad_input_with_one_line_and_exit_2(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert etl.main([*argv, "--output_prefix", "run-1", "--lake", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("flightdata-etl: error: ")
    assert "--dt" in err or "unrecognized" in err
    assert not (tmp_path / "flightdata-processed").exists()


def test_main_runs_the_job_into_the_run_folder_and_prints_one_json_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _small_day(tmp_path)
    run = f"flightdata-processed/flightdata_processed/dt={DAY}/run=cli-1"
    assert etl.main(["--dt", DAY.isoformat(), "--output_prefix", run, "--lake", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and err == ""
    assert json.loads(out) == {
        "dt": DAY.isoformat(),
        "rows": 4,
        "raw_objects": 3,
        "raw_states": 5,
        "files": [f"{run}/part-00000.parquet"],
        "replaced": "",
        "skipped": [],
    }
    assert (tmp_path / run / etl.SUCCESS_MARKER).exists()
    assert not (partition_dir(tmp_path, DAY) / "part-00000.parquet").exists()  # publishing is the repair's


def test_main_takes_the_lake_from_the_environment_and_exits_1_on_a_failed_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLIGHTDQ_LAKE", str(tmp_path))
    argv = ["--dt", DAY.isoformat(), "--output_prefix", "run-1"]
    assert etl.main(argv) == 1  # an empty lake: no raw data for the day
    _out, err = capsys.readouterr()
    assert err.count("\n") == 1 and f"dt={DAY}: no raw snapshots under {tmp_path}" in err

    _small_day(tmp_path)
    assert etl.main(argv) == 0
    assert pq.read_table(tmp_path / "run-1" / "part-00000.parquet").num_rows == 4


# --- what the Glue job ships ----------------------------------------------------------------------

ETL_PACKAGE = Path(etl.__file__).parent
FOREIGN = ("airflow", "great_expectations", "flightdq.backends")


def test_importing_the_glue_script_loads_neither_airflow_nor_the_backends_nor_gx() -> None:
    """The Glue job ships `flightdq.etl` and `flightdq.core` only: importing its entry script in a fresh
    interpreter must not load Airflow, the Airflow-side backends or Great Expectations."""
    probe = "import json, sys\nimport flightdq.etl.glue_entry\nprint(json.dumps(sorted(sys.modules)))\n"
    here = os.pathsep.join(filter(None, [str(ETL_PACKAGE.parents[1]), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": here},  # this checkout's flightdq, not an installed one
    )
    loaded = json.loads(done.stdout)
    assert "flightdq.etl.glue_entry" in loaded
    assert [m for m in loaded if any(m == f or m.startswith(f"{f}.") for f in FOREIGN)] == []
    outside = [m for m in loaded if m.startswith("flightdq.") and m.split(".")[1] not in ("etl", "core")]
    assert outside == []


def test_the_etl_package_imports_only_itself_and_core_even_inside_functions() -> None:
    """Also the imports made when the job runs (inside functions), which a fresh import does not see."""
    found = []
    for path in sorted(ETL_PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            found += [
                f"{path.name}:{node.lineno} {name}"
                for name in names
                if name.split(".")[0] in ("airflow", "great_expectations")
                or (name.startswith("flightdq.") and name.split(".")[1] not in ("etl", "core"))
            ]
    assert found == []


def test_once_the_etl_found_a_snapshot_unreadable_presence_counts_it_missing(small_lake):
    """A raw hour whose every object is unreadable: `validate` said raw was complete and the rebuild
    failed for the whole day. Now the day is rebuilt from the rest, the objects and hour are named,
    and raw presence then reads the hour as lost (the partial-raw P0 rules)."""
    import shutil

    from conftest import SMALL_LAKE_END, end_of
    from flightdq.checks.runner import run_checks
    from flightdq.recovery.execute import remediate

    backend, day = small_lake, SMALL_LAKE_END
    hour = backend.raw_root / f"year={day:%Y}/month={day:%m}/day={day:%d}/hour=05"
    for path in hour.iterdir():
        path.write_bytes(b"<html>not a snapshot</html>" + b" " * 200)
    shutil.rmtree(backend.partition_folder(day))
    (ended,) = remediate(backend, [day], end_of(day), dry_run=False, run_id="cli-remediate__t")
    assert (
        ended.outcome == "repaired_partially"
        and "left out 6 unreadable raw snapshot(s) (hours 05)" in ended.message
    )
    raw = next(
        r
        for r in run_checks([day], end_of(day), backend=backend, record=False)
        if r.dataset == "flightdata_raw" and r.check == "partition_presence"
    )
    assert raw.failed and str(raw.severity) == "P0" and "05" in raw.message


def test_a_reader_beside_repeated_swaps_never_sees_the_day_missing(small_lake):
    """`validate` in a loop beside a swap in a loop once saw "registered but has no files" (1 in 265):
    the swap renamed the old folder away before renaming the new one in."""
    import threading
    import time as clock

    from conftest import SMALL_LAKE_END
    from flightdq.core import layout

    backend, day = small_lake, SMALL_LAKE_END
    partition = backend.partition_folder(day)
    seen_missing, looks, stop = [], [0], threading.Event()

    def reader() -> None:
        while not stop.is_set():
            if not layout.data_files(partition):
                seen_missing.append(clock.monotonic())
            looks[0] += 1

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        deadline = clock.monotonic() + 20
        for _ in range(15):  # bounded in count and time
            rebuild_local(backend.lake, day, force=True)
            if clock.monotonic() > deadline:
                break
    finally:
        stop.set()
        thread.join(timeout=10)
    assert looks[0] > 100 and seen_missing == []


def test_the_flights_sql_is_rendered_only_for_the_engines_that_run_it() -> None:
    from flightdq.etl.flights_sql import flights_sql

    with pytest.raises(ValueError, match="no rendering of the flights SQL for 'trino'"):
        flights_sql("trino", DAY)
    for dialect in ("duckdb", "spark"):  # every placeholder filled with the day's bounds
        sql = flights_sql(dialect, DAY, gap_seconds=1800)
        assert ":day_" not in sql and ":gap_seconds" not in sql
        assert str(T0) in sql and str(NEXT_T0) in sql
    for gap in (1801, 1830, 90, 30):  # the SQL's 30 masks of 60 seconds cover whole minutes, 30 at most
        with pytest.raises(ValueError, match="gap_seconds must be a whole number of minutes"):
            flights_sql("duckdb", DAY, gap_seconds=gap)
