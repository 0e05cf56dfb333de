"""The Airflow side: the DAG factory behind the thin files in `dags/`, the task bodies they call,
and the extra links on task instances. Airflow is imported inside functions so that parsing stays
cheap.

May import: any flightdq package below it; nothing imports it but `dags/` and `plugins/`.
"""
