"""Which S3 objects are a processed day's (`flightdq.etl.partitions`), without any AWS call."""

from __future__ import annotations

from datetime import datetime, timedelta

from flightdq.etl.partitions import DayObjects, data_objects, group_by_day, split_location

DT = "2026-11-20"
DAY = f"flightdata_processed/dt={DT}/"
T = datetime(2026, 11, 21, 3, 0)


def obj(key: str, minutes: int = 0) -> dict:
    return {"Key": key, "Size": 10, "LastModified": T + timedelta(minutes=minutes)}


def day_of(*objects: dict) -> DayObjects:
    return group_by_day(list(objects), "flightdata_processed/")[DT]


def test_the_newest_complete_run_prefix_holds_an_unregistered_day() -> None:
    day = day_of(
        obj(f"{DAY}part-00000.parquet"),
        obj(f"{DAY}run=jr_a/part-00000.parquet", 1),
        obj(f"{DAY}run=jr_a/_SUCCESS", 2),
        obj(f"{DAY}run=jr_b/part-00000.parquet", 3),
        obj(f"{DAY}run=jr_b/_SUCCESS", 4),
        obj(f"{DAY}run=jr_c/part-00000.parquet", 9),  # no marker: a run that died while writing
    )
    assert day.complete_runs() == [f"{DAY}run=jr_b/", f"{DAY}run=jr_a/"]
    assert day.stored_prefix() == f"{DAY}run=jr_b/"


def test_files_directly_under_the_day_hold_it_when_no_run_is_complete() -> None:
    day = day_of(obj(f"{DAY}a.parquet"), obj(f"{DAY}_b.parquet"), obj(f"{DAY}run=jr_c/part-00000.parquet"))
    assert day.stored_prefix() == DAY
    # the flat layout's objects are only those directly under dt=D/: never a run= folder
    assert [o["Key"] for o in day.objects_under(DAY)] == [f"{DAY}a.parquet", f"{DAY}_b.parquet"]
    assert [o["Key"] for o in data_objects(day.objects_under(DAY), DAY)] == [f"{DAY}a.parquet"]
    assert day_of(obj(f"{DAY}run=jr_c/_SUCCESS")).stored_prefix() is None  # a marker without data


def test_locations_name_folders_and_stray_names_are_no_days() -> None:
    assert split_location(f"s3://bucket/{DAY}run=x") == ("bucket", f"{DAY}run=x/")
    assert split_location("s3://bucket/") == ("bucket", "")
    stray = [obj("flightdata_processed/dt=soon/x.parquet"), obj("flightdata_processed/dt=2026-11-20")]
    assert group_by_day(stray, "flightdata_processed/") == {}
