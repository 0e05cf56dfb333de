"""The project's vocabulary, with no I/O of its own beyond reading the policy file: the contract
(names, layouts, schemas), partition layout, dates, check results, configuration and policy, report
formatting and the links to Airflow and the AWS consoles.

May import: the standard library and small third-party libraries only; nothing else of flightdq.
"""
