"""flightdq: data-quality checks and recovery for the flight-data lake.

The package imports without Airflow, AWS or Great Expectations being loaded: heavy imports
happen inside the functions that need them, so DAG files that import it stay cheap to parse.
"""

__version__ = "0.1.0"
