"""Incidents and alerts: findings folded into incidents with a P0..P3 lifecycle (`store`), the
rules that decide which alerts are due, the outbox that sends each exactly once, the notifiers,
post-incident reviews (`alerting`), and the upstream diagnosis as a timeline reads it (`diagnosis`).

May import: `flightdq.core`, `flightdq.storage`, `flightdq.backends` (the interface).
"""
