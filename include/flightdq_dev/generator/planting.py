"""Planting a fault: changing one day of a generated lake (its processed partition, its catalog entry or
its raw objects) so that the fault's evidence is there, and saying what was planted."""

from __future__ import annotations

import math
import shutil
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from flightdq.core import layout
from flightdq.core.contract import PROCESSED_TABLE, RAW_BUCKET
from flightdq_dev.generator.common import partition_folder, run_etl
from flightdq_dev.generator.faults import (
    CAUGHT_BY,
    DUPLICATE_RATIO,
    FAULTS,
    INVALID_MAJOR_RATIO,
    INVALID_MINOR_RATIO,
    MISSING_RAW_HOURS,
    RECORD_DROP_RATIO,
    STOPS_EARLY_HOUR,
    drift_severity,
    duplicates_severity,
    row_severity,
)
from flightdq_dev.generator.manifest import PlantedFault

if TYPE_CHECKING:
    import pyarrow as pa

    from flightdq.backends.local.catalog import LocalCatalog


class Planter:
    """Plants one fault on one day of a generated lake and says what it planted."""

    def __init__(self, root: Path, day: date, seed: int, catalog: LocalCatalog) -> None:
        self.root = Path(root)
        self.day = day
        self.dt = str(day)
        self.seed = seed
        self.catalog = catalog
        self.folder = partition_folder(root, day)
        self.rows_after = 0

    def plant(self, name: str) -> PlantedFault:
        self.name = name
        self.rng = np.random.default_rng([self.seed, self.day.toordinal(), 100 + FAULTS.index(name)])
        return getattr(self, f"_{name}")()

    def _fault(self, severity: str | None, detail: str) -> PlantedFault:
        """What was planted: the fault, the check that should catch it (CAUGHT_BY) and how."""
        dataset, check = CAUGHT_BY[self.name]
        return PlantedFault(self.name, self.dt, dataset, check, severity, detail)

    # --- files ---------------------------------------------------------------------------------------
    def _file(self) -> Path:
        files = sorted(self.folder.glob("*.parquet"))
        if len(files) != 1:
            raise RuntimeError(f"expected one Parquet file in {self.folder}, found {len(files)}")
        return files[0]

    def _read(self) -> pa.Table:
        import pyarrow.parquet as pq

        table = pq.ParquetFile(self._file()).read()
        self.rows_after = table.num_rows
        return table

    def _write(self, table: pa.Table) -> None:
        import pyarrow.parquet as pq

        path = self._file()
        meta = pq.ParquetFile(path).metadata
        compression = meta.row_group(0).column(0).compression.lower() if meta.num_row_groups else "snappy"
        tmp = path.with_name(path.name + ".tmp")
        pq.write_table(table, tmp, compression=compression)
        tmp.replace(path)
        self.rows_after = table.num_rows

    def _delete_raw_hours(self, hours: list[int]) -> int:
        deleted = 0
        for hour in hours:
            folder = self.root / RAW_BUCKET / layout.raw_hour_prefix(self.day, hour)
            if folder.is_dir():
                deleted += sum(1 for p in folder.iterdir() if p.is_file())
                shutil.rmtree(folder)
        return deleted

    def _rebuild(self) -> tuple[int, int]:
        before = self._read().num_rows
        outcome = run_etl(self.root, self.day)
        self.rows_after = int(outcome.rows)
        return before, self.rows_after

    # --- processed partition presence ------------------------------------------------------------------
    def _missing_partition(self) -> PlantedFault:
        rows = self._read().num_rows
        shutil.rmtree(self.folder)
        self.catalog.unregister(PROCESSED_TABLE, self.dt)
        self.rows_after = 0
        return self._fault("P1", f"partition folder deleted ({rows} rows) and unregistered; raw intact")

    def _unregistered_partition(self) -> PlantedFault:
        rows = self._read().num_rows
        self.catalog.unregister(PROCESSED_TABLE, self.dt)
        return self._fault("P1", f"partition files present ({rows} rows) but not registered in the catalog")

    def _empty_partition(self) -> PlantedFault:
        removed = 0
        for path in sorted(self.folder.iterdir()):
            path.unlink()
            removed += 1
        self.rows_after = 0
        return self._fault("P1", f"registered, folder kept, its {removed} file(s) deleted")

    def _zero_rows_partition(self) -> PlantedFault:
        table = self._read()
        self._write(table.slice(0, 0))
        return self._fault("P1", "registered, one Parquet file with the contract schema and 0 rows")

    # --- raw data loss --------------------------------------------------------------------------------
    def _missing_raw_hours(self) -> PlantedFault:
        deleted = self._delete_raw_hours(list(MISSING_RAW_HOURS))
        before, after = self._rebuild()
        hours = f"{MISSING_RAW_HOURS[0]:02d}-{MISSING_RAW_HOURS[-1]:02d}"
        return self._fault(
            "P0",
            f"raw hours {hours} UTC deleted ({deleted} objects): data loss; processed rebuilt "
            f"from the rest by the ETL ({before} -> {after} rows)",
        )

    def _stops_early(self) -> PlantedFault:
        hours = list(range(STOPS_EARLY_HOUR, 24))
        deleted = self._delete_raw_hours(hours)
        before, after = self._rebuild()
        drop = 1 - after / before if before else 0.0
        return self._fault(
            "P1",
            f"raw snapshots from {STOPS_EARLY_HOUR:02d}:00 UTC on deleted ({deleted} objects), processed "
            f"rebuilt ({before} -> {after} rows, -{drop:.0%}): the data stops {24 - STOPS_EARLY_HOUR} h "
            f"before the end of the day, so also freshness on flightdata_raw P1, partition_presence on "
            f"flightdata_raw P0 (hours {STOPS_EARLY_HOUR:02d}-23 missing) and a record_count_drift drop",
        )

    # --- row counts -----------------------------------------------------------------------------------
    def _record_count_drop(self) -> PlantedFault:
        table = self._read()
        n = table.num_rows
        removed = round(RECORD_DROP_RATIO * n)
        keep = np.sort(self.rng.choice(n, n - removed, replace=False))
        self._write(table.take(keep))
        return self._fault(
            drift_severity(RECORD_DROP_RATIO),
            f"{removed} of {n} processed rows removed ({removed / n:.1%}); raw intact",
        )

    # --- schema and rows ------------------------------------------------------------------------------
    def _invalid_rows_minor(self) -> PlantedFault:
        k = max(1, math.floor(INVALID_MINOR_RATIO * self._count()))
        return self._invalid_rows(k)

    def _invalid_rows_major(self) -> PlantedFault:
        return self._invalid_rows(max(1, round(INVALID_MAJOR_RATIO * self._count())))

    def _count(self) -> int:
        return self._read().num_rows

    def _invalid_rows(self, k: int) -> PlantedFault:
        import pyarrow as pa

        table = self._read()
        n = table.num_rows
        k = min(k, n)
        picked = np.sort(self.rng.choice(n, k, replace=False))
        rules = ("callsign", "first_latitude", "squawk", "max_velocity")
        cols = {c: table.column(c).to_pylist() for c in rules}
        broken: dict[str, int] = {}
        for i, row in enumerate(picked):
            for step in range(len(rules)):
                rule = rules[(i + step) % len(rules)]
                if rule in ("callsign", "squawk") and cols[rule][row] is None:
                    continue  # needs a value to break
                break
            if rule == "callsign":
                cols[rule][row] = cols[rule][row].lower()
            elif rule == "first_latitude":
                cols[rule][row] = 123.0
            elif rule == "squawk":
                cols[rule][row] = "9999"
            else:
                cols[rule][row] = -5.0
            broken[rule] = broken.get(rule, 0) + 1
        for column, values in cols.items():
            index = table.schema.get_field_index(column)
            fld = table.schema.field(index)
            table = table.set_column(index, fld, pa.array(values, type=fld.type))
        self._write(table)
        ratio = k / n
        severity = row_severity(ratio)
        what = {
            "callsign": "callsign lowercase",
            "first_latitude": "first_latitude 123.0",
            "squawk": "squawk '9999'",
            "max_velocity": "max_velocity -5.0",
        }
        detail = (
            f"{k} of {n} rows ({ratio:.2%}) break one row rule each: "
            + ", ".join(f"{broken[r]} {what[r]}" for r in rules if r in broken)
            + ("; under 1%, so schema_validity should pass" if severity is None else "")
        )
        return self._fault(severity, detail)

    def _renamed_column(self) -> PlantedFault:
        table = self._read()
        self._write(table.rename_columns(["call_sign" if c == "callsign" else c for c in table.column_names]))
        return self._fault("P1", "column callsign renamed to call_sign in the Parquet file")

    def _retyped_column(self) -> PlantedFault:
        import pyarrow as pa
        import pyarrow.compute as pc

        table = self._read()
        index = table.schema.get_field_index("position_count")
        fld = table.schema.field(index)
        values = pc.cast(table.column(index), pa.float64())
        table = table.set_column(index, fld.with_type(pa.float64()), values)
        self._write(table)
        return self._fault("P1", "column position_count written as double instead of bigint")

    def _duplicate_flight_ids(self) -> PlantedFault:
        table = self._read()
        n = table.num_rows
        k = max(1, round(DUPLICATE_RATIO * n))
        copies = self.rng.choice(n, k, replace=False)
        self._write(table.take(np.sort(np.concatenate([np.arange(n), copies]), kind="stable")))
        ratio = k / (n + k)
        return self._fault(
            duplicates_severity(ratio),
            f"{k} row(s) duplicated (same flight_id): {k} extra of {n + k} rows ({ratio:.2%})",
        )
