"""Plain Great Expectations on pandas over one day of the processed lake, for `make bench` to compare
`flightdq validate` with: the suite file run by GX alone (ephemeral context, pandas datasource), the
day's Parquet files read into one frame. Run as a script (`python bench_plain_gx.py LAKE DAY`), so
that nothing of flightdq is imported; it prints whether the suite passed.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

SUITE = Path(__file__).resolve().parents[2] / "expectations" / "flightdata_processed.json"


def main(lake: Path, day: date) -> None:
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    import great_expectations as gx
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = lake / "flightdata-processed" / "flightdata_processed" / f"dt={day}"
    table = pa.concat_tables([pq.read_table(path) for path in sorted(folder.glob("*.parquet"))])
    dtypes = {  # the dtypes the suite's type expectations name
        pa.string(): pd.StringDtype("pyarrow", na_value=np.nan),
        pa.int64(): pd.Int64Dtype(),
        pa.timestamp("us", tz="UTC"): pd.DatetimeTZDtype("us", "UTC"),
    }
    frame = table.to_pandas(types_mapper=dtypes.get, ignore_metadata=True)
    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_pandas("bench").add_dataframe_asset("flightdata_processed")
    batch = asset.add_batch_definition_whole_dataframe("day").get_batch(batch_parameters={"dataframe": frame})
    start = datetime.combine(day, time.min, tzinfo=UTC)
    parameters = {"day_start": start.isoformat(), "day_end": (start + timedelta(days=1)).isoformat()}
    suite = gx.ExpectationSuite(**json.loads(SUITE.read_text()))
    result = batch.validate(suite, expectation_parameters=parameters, result_format="SUMMARY")
    print(day, "success" if result.success else "failed", len(frame))


if __name__ == "__main__":
    main(Path(sys.argv[1]), date.fromisoformat(sys.argv[2]))
