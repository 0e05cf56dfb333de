"""Incidents and alerts: findings folded into incidents with a P0..P3 lifecycle (`store`,
`reconcile`), the rules that decide which alerts are due (`alerts`), the outbox that sends each
exactly once (`outbox`), the file channel (`notifiers`; Slack and SNS are in
`flightdq.airflow.notifiers`), the step every DAG run takes (`manage`), the dead-man's switch
(`heartbeat`), post-incident reviews (`reviews`), and the upstream diagnosis as a timeline reads it
(`diagnosis`).

May import: `flightdq.core`, `flightdq.storage`, `flightdq.backends` (the ports) and `flightdq.checks`
(the results); the checks never import it (drift's baseline is told the incident days by its caller).
"""
