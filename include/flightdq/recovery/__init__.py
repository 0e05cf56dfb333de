"""Repairing the lake: the remediation plan (what each day needs and why), its execution (re-run
the ETL, re-check) and catalog repair (register partitions found in storage, like MSCK REPAIR).

May import: everything below it (`core`, `storage`, `etl`, `backends`, `incidents`, `checks`).
"""
