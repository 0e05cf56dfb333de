"""The sample-lake generator: the contract's layout, determinism, the traffic's weekly and daily
patterns, and the exact evidence each planted fault leaves.

Two lakes are generated once per module with the same seed and days, one healthy and one with every
fault planted, so each fault is checked against what the same day looked like without it.
"""

from __future__ import annotations

import gzip
import itertools
import json
import re
import shutil
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flightdq.backends.local.catalog import LocalCatalog
from flightdq.core.contract import (
    PROCESSED_DATASET,
    PROCESSED_TABLE,
    RAW_DATASET,
    STATE_FIELDS,
    processed_arrow_schema,
)
from flightdq.core.layout import RAW_KEY_RE
from flightdq_dev.generator import (
    FAULTS,
    MANIFEST_FILE,
    LakeManifest,
    PlantedFault,
    default_demo_faults,
    generate_lake,
)

END = date(2026, 11, 22)  # a Sunday
DAYS = 12  # Wednesday 2026-11-11 .. Sunday 2026-11-22: two weekends, seven weekdays
SEED = 7
FAULT_DAYS = default_demo_faults(END)  # one fault on each of the 12 days
ALL_DAYS = [END - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]

ICAO_RE = re.compile(r"^[0-9a-f]{6}$")
CALLSIGN_RE = re.compile(r"^[A-Z0-9]{2,8}$")
SQUAWK_RE = re.compile(r"^[0-7]{4}$")
# Python types each state field may carry (contract section 1); None where the API allows null.
FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "icao24": (str,),
    "callsign": (str, type(None)),
    "origin_country": (str,),
    "time_position": (int, type(None)),
    "last_contact": (int,),
    "longitude": (float, type(None)),
    "latitude": (float, type(None)),
    "baro_altitude": (float, type(None)),
    "on_ground": (bool,),
    "velocity": (float, type(None)),
    "true_track": (float, type(None)),
    "vertical_rate": (float, type(None)),
    "sensors": (list, type(None)),
    "geo_altitude": (float, type(None)),
    "squawk": (str, type(None)),
    "spi": (bool,),
    "position_source": (int,),
    "category": (int,),
}


# --- lakes and readers ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, LakeManifest]:
    root = tmp_path_factory.mktemp("healthy") / "lake"
    return root, generate_lake(root, end=END, days=DAYS, seed=SEED, size="small")


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, LakeManifest]:
    root = tmp_path_factory.mktemp("faulty") / "lake"
    return root, generate_lake(root, end=END, days=DAYS, seed=SEED, size="small", faults=FAULT_DAYS)


def raw_objects(root: Path, day: date | None = None) -> dict[str, bytes]:
    """key (relative to the raw bucket) -> object bytes, for one day or the whole lake."""
    bucket = root / "flightdata-raw"
    base = bucket / f"year={day:%Y}/month={day:%m}/day={day:%d}" if day else bucket
    return {str(p.relative_to(bucket)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def body_of(key: str, data: bytes) -> dict:
    return json.loads(gzip.decompress(data) if key.endswith(".gz") else data)


def hour_of(key: str) -> int:
    return int(RAW_KEY_RE.match(key)["hour"])


def folder(root: Path, day: date) -> Path:
    return root / "flightdata-processed" / "flightdata_processed" / f"dt={day}"


def table(root: Path, day: date) -> pa.Table:
    files = sorted(folder(root, day).glob("*.parquet"))
    assert len(files) == 1, files
    return pq.ParquetFile(files[0]).read()


def etl_of(raw: dict[str, bytes], day: date, tmp: Path) -> pa.Table:
    """What the ETL makes of these raw objects, in a scratch lake."""
    from flightdq.recovery.publish import rebuild_local

    for key, data in raw.items():
        path = tmp / "flightdata-raw" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    rebuild_local(tmp, day)
    return table(tmp, day)


def planted(manifest: LakeManifest, name: str) -> PlantedFault:
    (fault,) = [f for f in manifest.faults if f.fault == name]
    assert fault.dt == str(FAULT_DAYS[name])
    return fault


def schema_pairs(schema: pa.Schema) -> list[tuple[str, str]]:
    return [(f.name, str(f.type)) for f in schema]


# --- layout ---------------------------------------------------------------------------------------------


def test_raw_objects_follow_the_contract(healthy: tuple[Path, LakeManifest]) -> None:
    root, manifest = healthy
    objects = raw_objects(root)
    assert len(objects) == DAYS * 144 == manifest.raw_objects  # one poll every 600 s
    seen: Counter[str] = Counter()
    lengths: Counter[int] = Counter()
    per_day_hours: dict[str, set[int]] = {}
    previous: dict[tuple[str, int], list] = {}
    repeated = 0
    for key, data in objects.items():
        match = RAW_KEY_RE.match(key)
        assert match, key
        seen["gz" if match["gz"] else "plain"] += 1
        assert data[:2] == b"\x1f\x8b" if match["gz"] else data.startswith(b'{"time":')
        body = body_of(key, data)
        assert set(body) == {"time", "states"}
        unix = body["time"]
        assert isinstance(unix, int) and unix == int(match["unix"])
        moment = datetime.fromtimestamp(unix, UTC)
        assert (moment.year, moment.month, moment.day, moment.hour) == (
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
        )
        per_day_hours.setdefault(moment.date().isoformat(), set()).add(moment.hour)
        current = {}
        for state in body["states"] or []:
            lengths[len(state)] += 1
            assert len(state) in (17, 18)
            for name, value in zip(STATE_FIELDS, state, strict=False):
                assert isinstance(value, FIELD_TYPES[name]), (name, value)
                seen[f"null {name}"] += value is None
            icao, callsign, _, time_position, last_contact, lon, lat, baro = state[:8]
            assert ICAO_RE.match(icao)
            assert callsign is None or (len(callsign) == 8 and CALLSIGN_RE.match(callsign.rstrip()))
            assert last_contact <= unix
            if unix - last_contact > 15:  # not heard from since the last poll: the same state again
                assert previous[(icao, last_contact)] == state
                repeated += 1
            assert last_contact // 86_400 == unix // 86_400  # a state's time lies in its object's day
            assert time_position is None or time_position <= last_contact
            assert lat is None or -90 <= lat <= 90
            assert lon is None or -180 <= lon <= 180
            assert (lat is None) == (lon is None) == (time_position is None)
            assert baro is None or 0 <= baro <= 12_600
            assert state[9] is None or 0 <= state[9] <= 265
            assert state[14] is None or SQUAWK_RE.match(state[14])
            assert state[16] in (0, 1, 2, 3)
            seen["climbed to cruise"] += baro is not None and baro >= 9_000
            current[(icao, last_contact)] = state
        previous = current
    assert seen["gz"] > 100 and seen["plain"] > 100  # a mix of both encodings
    assert lengths[17] > 0 and lengths[18] > 0  # some states carry the 18th field, `category`
    nullable = (
        "callsign",
        "latitude",
        "time_position",
        "baro_altitude",
        "velocity",
        "squawk",
        "geo_altitude",
    )
    for name in nullable:
        assert seen[f"null {name}"] > 0, f"no null {name} at all"
    assert 0 < seen["null sensors"] < sum(lengths.values())
    assert seen["climbed to cruise"] > 0
    assert repeated > 0  # some states repeat unchanged in the next snapshot
    assert sum(lengths.values()) == manifest.raw_states
    assert per_day_hours == {str(d): set(range(24)) for d in ALL_DAYS}  # every hour of every day


def test_processed_partitions_are_what_the_etl_makes_of_raw(
    healthy: tuple[Path, LakeManifest], tmp_path: Path
) -> None:
    root, manifest = healthy
    contract = schema_pairs(processed_arrow_schema())
    for day in ALL_DAYS:
        files = sorted(folder(root, day).iterdir())
        assert [f.name for f in files] == ["part-00000.parquet"]
        assert schema_pairs(pq.read_schema(files[0])) == contract
        assert table(root, day).num_rows == manifest.processed_rows[str(day)] > 0
    registered = LocalCatalog(root).registered(PROCESSED_TABLE)
    assert registered == {str(d): folder(root, d).relative_to(root).as_posix() for d in ALL_DAYS}  # portable
    assert sorted(p.name for p in root.iterdir()) == [
        "_catalog",
        "_generator",
        "flightdata-processed",
        "flightdata-raw",
    ]
    # the generator writes no processed rows itself: the ETL run again on the raw objects agrees
    day = ALL_DAYS[3]
    assert etl_of(raw_objects(root, day), day, tmp_path / "scratch").equals(table(root, day))


def test_poll_seconds_can_be_set(tmp_path: Path) -> None:
    generate_lake(tmp_path / "lake", end=END, days=1, size="small", poll_seconds=300)
    keys = raw_objects(tmp_path / "lake")
    assert len(keys) == 288
    times = sorted(int(RAW_KEY_RE.match(k)["unix"]) for k in keys)
    assert all(290 <= b - a <= 310 for a, b in itertools.pairwise(times))


def _raw_day(root: Path, poll: int, gzip_mode: str = "mixed") -> dict[str, bytes]:
    """The raw objects of END at `poll`, written by the snapshot simulator alone (no ETL)."""
    from flightdq_dev.generator.snapshots import Snapshots
    from flightdq_dev.generator.traffic import Traffic

    traffic = Traffic(seed=SEED, flights_per_weekday=60)
    for day in (END - timedelta(days=1), END):
        traffic.schedule_day(day)
    Snapshots(seed=SEED, poll=poll, gzip=gzip_mode).write_raw_day(root / "flightdata-raw", END, traffic)
    return raw_objects(root, END)


def test_polls_down_to_5_seconds_repeat_a_state_until_the_aircraft_is_heard_again(tmp_path: Path) -> None:
    fast = _raw_day(tmp_path / "fast", 5)
    slow = _raw_day(tmp_path / "slow", 60)
    assert len(fast) == (86_400 - 60) // 5 + 1 and len(slow) == (86_400 - 60) // 60 + 1
    bodies = sorted((body_of(k, v) for k, v in fast.items()), key=lambda b: b["time"])
    times = [b["time"] for b in bodies]
    assert all(b - a == 5 for a, b in itertools.pairwise(times))  # one poll every 5 s, in order

    previous: dict[str, list] = {}
    advanced = repeated = 0
    for body in bodies:
        for st in body["states"] or []:
            assert 0 <= body["time"] - st[4] < 20  # heard in the last seconds before the poll
            before = previous.get(st[0])
            if before is not None and before[1] == st[1]:  # the same flight, one poll later
                assert st[4] >= before[4]  # last_contact never goes back
                if st[4] == before[4]:
                    assert st == before  # not heard again: the API returns the state unchanged
                    repeated += 1
                else:
                    advanced += 1
            previous[st[0]] = st
    assert 0.05 < repeated / (repeated + advanced) < 0.5  # at 5 s, now and then not heard again since

    # realistic state counts: every aircraft flying is in every snapshot, whatever the cadence
    count_fast = {b["time"]: len(b["states"] or []) for b in bodies}
    count_slow = [
        (body["time"], len(body["states"] or [])) for body in (body_of(k, v) for k, v in slow.items())
    ]
    pairs = [(n, count_fast[min(count_fast, key=lambda t: abs(t - time))]) for time, n in count_slow[::30]]
    assert sum(n for n, _ in pairs) > 0
    assert abs(sum(f for _, f in pairs) / sum(n for n, _ in pairs) - 1) < 0.1


@pytest.mark.parametrize(("mode", "zipped"), [("all", {True}), ("none", {False}), ("mixed", {True, False})])
def test_raw_objects_are_gzipped_or_not_as_asked(tmp_path: Path, mode: str, zipped: set[bool]) -> None:
    objects = _raw_day(tmp_path, 1800, mode)
    assert len(objects) == 48
    assert {key.endswith(".json.gz") for key in objects} == zipped
    for key, data in objects.items():
        assert (data[:2] == b"\x1f\x8b") == key.endswith(".gz")
        assert body_of(key, data)["time"] == int(RAW_KEY_RE.match(key)["unix"])


def test_the_command_line_sets_the_poll_and_the_compression(tmp_path: Path, capsys) -> None:
    from flightdq_dev.cli import main

    lake = tmp_path / "lake"
    argv = ["generate", "--lake", str(lake), "--end", str(END), "--days", "1", "--size", "small"]
    assert main([*argv, "--no-faults", "--poll-seconds", "1800", "--gzip", "none"]) == 0
    keys = raw_objects(lake)
    assert len(keys) == 48 and not any(k.endswith(".gz") for k in keys)
    assert main([*argv, "--poll-seconds", "4"]) == 2
    assert "poll_seconds must be within 5..3600" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        main([*argv, "--gzip", "sometimes"])
    assert refused.value.code == 2


# --- determinism ----------------------------------------------------------------------------------------


def lake_files(root: Path) -> dict[str, bytes]:
    """Every file but the catalog database (SQLite pages hold timestamps) and the manifest (holds root)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not str(p.relative_to(root)).startswith(("_catalog", "_generator"))
    }


def test_same_arguments_give_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    end = date(2026, 3, 4)
    faults = {"record_count_drop": end - timedelta(days=1), "duplicate_flight_ids": end}
    manifest_a = generate_lake(tmp_path / "a", end=end, days=2, seed=3, size="small", faults=faults)
    manifest_b = generate_lake(tmp_path / "b", end=end, days=2, seed=3, size="small", faults=faults)
    manifest_c = generate_lake(tmp_path / "c", end=end, days=1, seed=4, size="small")
    files_a, files_b = lake_files(tmp_path / "a"), lake_files(tmp_path / "b")
    assert sum(k.startswith("flightdata-raw/") for k in files_a) == 2 * 144
    assert sum(k.endswith(".parquet") for k in files_a) == 2
    assert files_a == files_b  # raw and processed, byte for byte, faults included
    assert manifest_a.to_json().replace(str(tmp_path / "a"), "") == manifest_b.to_json().replace(
        str(tmp_path / "b"), ""
    )
    day_a = raw_objects(tmp_path / "a", end)
    day_c = raw_objects(tmp_path / "c", end)
    assert day_a.keys() != day_c.keys()  # other snapshot times ...
    aircraft_a = set(table(tmp_path / "a", end).column("icao24").to_pylist())
    aircraft_c = set(table(tmp_path / "c", end).column("icao24").to_pylist())
    assert aircraft_a != aircraft_c and manifest_a.seed != manifest_c.seed  # ... and other traffic


def test_same_seed_and_days_give_the_same_raw_with_or_without_faults(
    healthy: tuple[Path, LakeManifest], faulty: tuple[Path, LakeManifest]
) -> None:
    raw_faults = {FAULT_DAYS["missing_raw_hours"], FAULT_DAYS["stops_early"]}
    for day in ALL_DAYS:
        if day not in raw_faults:
            assert raw_objects(faulty[0], day) == raw_objects(healthy[0], day), day


# --- traffic patterns -----------------------------------------------------------------------------------


def test_weekends_are_quieter_than_weekdays(healthy: tuple[Path, LakeManifest]) -> None:
    root, _ = healthy
    rows = {day: table(root, day).num_rows for day in ALL_DAYS}
    weekdays = [n for d, n in rows.items() if d.weekday() < 5]
    mean = sum(weekdays) / len(weekdays)
    saturdays = [n for d, n in rows.items() if d.weekday() == 5]
    sundays = [n for d, n in rows.items() if d.weekday() == 6]
    assert len(saturdays) == len(sundays) == 2
    assert all(0.6 * mean < n < 0.9 * mean for n in saturdays + sundays), (rows, mean)
    assert all(0.85 * mean < n < 1.15 * mean for n in weekdays), rows  # a few % of day-to-day noise
    assert len(set(weekdays)) > 1


def test_night_hours_have_fewer_states_than_day_hours(healthy: tuple[Path, LakeManifest]) -> None:
    root, _ = healthy
    per_hour: Counter[int] = Counter()
    for key, data in raw_objects(root).items():
        per_hour[hour_of(key)] += len(body_of(key, data)["states"] or [])
    night = sum(per_hour[h] for h in range(2, 6)) / 4
    day = sum(per_hour[h] for h in range(12, 18)) / 6
    assert night < 0.65 * day, per_hour


# --- planted faults -------------------------------------------------------------------------------------


def test_missing_partition(healthy: tuple[Path, LakeManifest], faulty: tuple[Path, LakeManifest]) -> None:
    day = FAULT_DAYS["missing_partition"]
    fault = planted(faulty[1], "missing_partition")
    assert (fault.dataset, fault.check, fault.severity) == (PROCESSED_DATASET, "partition_presence", "P1")
    assert not folder(faulty[0], day).exists()
    assert str(day) not in LocalCatalog(faulty[0]).registered(PROCESSED_TABLE)
    assert raw_objects(faulty[0], day) == raw_objects(healthy[0], day)  # raw intact: the ETL can rebuild


def test_unregistered_partition(
    healthy: tuple[Path, LakeManifest], faulty: tuple[Path, LakeManifest]
) -> None:
    day = FAULT_DAYS["unregistered_partition"]
    fault = planted(faulty[1], "unregistered_partition")
    assert (fault.dataset, fault.check, fault.severity) == (PROCESSED_DATASET, "partition_presence", "P1")
    assert str(day) not in LocalCatalog(faulty[0]).registered(PROCESSED_TABLE)
    name = "part-00000.parquet"
    assert (folder(faulty[0], day) / name).read_bytes() == (folder(healthy[0], day) / name).read_bytes()


def test_empty_partition(faulty: tuple[Path, LakeManifest]) -> None:
    day = FAULT_DAYS["empty_partition"]
    fault = planted(faulty[1], "empty_partition")
    assert (fault.dataset, fault.check, fault.severity) == (PROCESSED_DATASET, "partition_presence", "P1")
    assert folder(faulty[0], day).is_dir() and not any(folder(faulty[0], day).iterdir())
    assert LocalCatalog(faulty[0]).registered(PROCESSED_TABLE)[str(day)] == (
        folder(faulty[0], day).relative_to(faulty[0]).as_posix()
    )


def test_zero_rows_partition(faulty: tuple[Path, LakeManifest]) -> None:
    day = FAULT_DAYS["zero_rows_partition"]
    fault = planted(faulty[1], "zero_rows_partition")
    assert (fault.dataset, fault.check, fault.severity) == (PROCESSED_DATASET, "partition_presence", "P1")
    assert str(day) in LocalCatalog(faulty[0]).registered(PROCESSED_TABLE)
    empty = table(faulty[0], day)
    assert empty.num_rows == 0
    assert schema_pairs(empty.schema) == schema_pairs(processed_arrow_schema())


def test_missing_raw_hours(
    healthy: tuple[Path, LakeManifest], faulty: tuple[Path, LakeManifest], tmp_path: Path
) -> None:
    day = FAULT_DAYS["missing_raw_hours"]
    fault = planted(faulty[1], "missing_raw_hours")
    assert (fault.dataset, fault.check, fault.severity) == (RAW_DATASET, "partition_presence", "P0")
    left = raw_objects(faulty[0], day)
    before = raw_objects(healthy[0], day)
    assert {hour_of(k) for k in left} == set(range(24)) - {3, 4, 5}
    assert left == {k: v for k, v in before.items() if hour_of(k) not in (3, 4, 5)}
    rebuilt = table(faulty[0], day)
    assert not rebuilt.equals(table(healthy[0], day))
    assert rebuilt.equals(etl_of(left, day, tmp_path / "scratch"))  # processed is the ETL of what is left
    assert str(day) in LocalCatalog(faulty[0]).registered(PROCESSED_TABLE)


def test_record_count_drop(healthy: tuple[Path, LakeManifest], faulty: tuple[Path, LakeManifest]) -> None:
    day = FAULT_DAYS["record_count_drop"]
    fault = planted(faulty[1], "record_count_drop")
    assert (fault.dataset, fault.check, fault.severity) == (PROCESSED_DATASET, "record_count_drift", "P2")
    full, dropped = table(healthy[0], day), table(faulty[0], day)
    assert dropped.num_rows == full.num_rows - round(0.35 * full.num_rows)
    assert dropped.schema == full.schema
    kept = dropped.to_pylist()
    assert kept == [row for row in full.to_pylist() if row in kept]  # a subset, order and values kept
    assert raw_objects(faulty[0], day) == raw_objects(healthy[0], day)


INVALID = {"callsign": None, "first_latitude": 123.0, "squawk": "9999", "max_velocity": -5.0}


@pytest.mark.parametrize(("name", "ratio"), [("invalid_rows_minor", 0.005), ("invalid_rows_major", 0.03)])
def test_invalid_rows(
    healthy: tuple[Path, LakeManifest], faulty: tuple[Path, LakeManifest], name: str, ratio: float
) -> None:
    day = FAULT_DAYS[name]
    fault = planted(faulty[1], name)
    full, broken = table(healthy[0], day).to_pylist(), table(faulty[0], day).to_pylist()
    assert len(full) == len(broken)
    changed = [(a, b) for a, b in zip(full, broken, strict=True) if a != b]
    n = len(full)
    assert len(changed) == max(1, round(ratio * n) if name.endswith("major") else int(ratio * n))
    for good, bad in changed:
        (column,) = [c for c in good if good[c] != bad[c]]  # one rule broken per row
        if column == "callsign":
            assert bad[column] == good[column].lower() != good[column]
        else:
            assert bad[column] == INVALID[column]
    share = len(changed) / n
    expected = None if share <= 0.01 else ("P2" if share <= 0.05 else "P1")
    assert (fault.dataset, fault.check, fault.severity) == (PROCESSED_DATASET, "schema_validity", expected)
    assert fault.expected_status == ("pass" if expected is None else "fail")


def test_renamed_column(healthy: tuple[Path, LakeManifest], faulty: tuple[Path, LakeManifest]) -> None:
    day = FAULT_DAYS["renamed_column"]
    fault = planted(faulty[1], "renamed_column")
    assert (fault.dataset, fault.check, fault.severity) == (PROCESSED_DATASET, "schema_validity", "P1")
    full, renamed = table(healthy[0], day), table(faulty[0], day)
    assert renamed.column_names == [("call_sign" if c == "callsign" else c) for c in full.column_names]
    assert renamed.rename_columns(full.column_names).equals(full)


def test_retyped_column(healthy: tuple[Path, LakeManifest], faulty: tuple[Path, LakeManifest]) -> None:
    day = FAULT_DAYS["retyped_column"]
    fault = planted(faulty[1], "retyped_column")
    assert (fault.dataset, fault.check, fault.severity) == (PROCESSED_DATASET, "schema_validity", "P1")
    full, retyped = table(healthy[0], day), table(faulty[0], day)
    assert retyped.schema.field("position_count").type == pa.float64()
    assert full.schema.field("position_count").type == pa.int64()
    counts = full.column("position_count").to_pylist()
    assert retyped.column("position_count").to_pylist() == [float(v) for v in counts]
    assert retyped.drop_columns(["position_count"]).equals(full.drop_columns(["position_count"]))


def test_duplicate_flight_ids(healthy: tuple[Path, LakeManifest], faulty: tuple[Path, LakeManifest]) -> None:
    day = FAULT_DAYS["duplicate_flight_ids"]
    fault = planted(faulty[1], "duplicate_flight_ids")
    full, doubled = table(healthy[0], day).to_pylist(), table(faulty[0], day).to_pylist()
    counts = Counter(row["flight_id"] for row in doubled)
    extra = len(doubled) - len(full)
    assert extra == max(1, round(0.005 * len(full)))
    assert sorted(c for c in counts.values() if c > 1) == [2] * extra
    deduplicated = [row for i, row in enumerate(doubled) if row not in doubled[:i]]
    assert deduplicated == full
    expected = "P3" if extra / len(doubled) <= 0.01 else "P2"
    assert (fault.dataset, fault.check, fault.severity) == (PROCESSED_DATASET, "duplicates", expected)


def test_stops_early(healthy: tuple[Path, LakeManifest], faulty: tuple[Path, LakeManifest]) -> None:
    day = FAULT_DAYS["stops_early"]
    fault = planted(faulty[1], "stops_early")
    assert (fault.dataset, fault.check, fault.severity) == (PROCESSED_DATASET, "freshness", "P1")
    assert "flightdata_raw P0" in fault.detail and "record_count_drift" in fault.detail
    left, before = raw_objects(faulty[0], day), raw_objects(healthy[0], day)
    assert left == {k: v for k, v in before.items() if hour_of(k) < 17}
    end_of_day = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    newest = max(table(faulty[0], day).column("last_seen").to_pylist())
    assert newest < end_of_day - timedelta(hours=7)  # freshness lag beyond 4 h: P1
    assert max(table(healthy[0], day).column("last_seen").to_pylist()) > end_of_day - timedelta(hours=1)
    assert table(faulty[0], day).num_rows < 0.8 * table(healthy[0], day).num_rows


# --- manifest and arguments -----------------------------------------------------------------------------


def test_manifest_round_trips_and_lists_every_fault(
    healthy: tuple[Path, LakeManifest], faulty: tuple[Path, LakeManifest]
) -> None:
    root, manifest = faulty
    text = (root / MANIFEST_FILE).read_text()
    assert text == manifest.to_json()
    assert LakeManifest.from_json(text) == manifest == LakeManifest.load(root)
    assert json.loads(text)["faults"][0].keys() >= {"fault", "dt", "dataset", "check", "severity", "detail"}
    assert sorted(f.fault for f in manifest.faults) == sorted(FAULTS)
    assert (manifest.start, manifest.end, manifest.seed, manifest.size) == (
        str(ALL_DAYS[0]),
        str(END),
        SEED,
        "small",
    )
    assert manifest.healthy_days == []  # every day has its fault
    assert healthy[1].healthy_days == [str(d) for d in ALL_DAYS] and healthy[1].faults == []
    assert manifest.processed_rows[str(FAULT_DAYS["missing_partition"])] == 0


def test_default_demo_faults_leave_four_weeks_of_baseline() -> None:
    end = date(2026, 11, 26)
    faults = default_demo_faults(end)
    assert sorted(faults) == sorted(FAULTS)
    assert len(set(faults.values())) == len(FAULTS)  # one fault per day
    assert min(faults.values()) == end - timedelta(days=11) and max(faults.values()) == end


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"faults": {"no_such_fault": END}}, "unknown fault"),
        ({"faults": {"missing_partition": END + timedelta(days=1)}}, "outside"),
        ({"faults": {"missing_partition": END, "renamed_column": END}}, "one fault per day"),
        ({"size": "huge"}, "size"),
        ({"poll_seconds": 7200}, "poll_seconds"),
        ({"poll_seconds": 4}, "poll_seconds"),
        ({"gzip": "sometimes"}, "gzip"),
        ({"days": 0}, "days"),
    ],
)
def test_bad_arguments_are_refused_before_writing(tmp_path: Path, kwargs: dict, message: str) -> None:
    args = {"end": END, "days": 2, "size": "small", **kwargs}
    with pytest.raises(ValueError, match=message):
        generate_lake(tmp_path / "lake", **args)
    assert not (tmp_path / "lake").exists()


def test_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "keep.txt").write_text("someone's data")
    with pytest.raises(FileExistsError):
        generate_lake(tmp_path / "lake", end=END, days=1, size="small")
    assert [p.name for p in (tmp_path / "lake").iterdir()] == ["keep.txt"]
    shutil.rmtree(tmp_path / "lake")


def test_a_failed_generation_leaves_no_half_made_lake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flightdq_dev.generator.lake as lake  # the module that runs the ETL for each day

    def broken_etl(root: Path, day: date) -> None:
        raise RuntimeError(f"ETL failed for {day}")

    monkeypatch.setattr(lake, "run_etl", broken_etl)
    with pytest.raises(RuntimeError, match="ETL failed"):
        generate_lake(tmp_path / "lake", end=END, days=1, size="small")
    assert not (tmp_path / "lake").exists()
