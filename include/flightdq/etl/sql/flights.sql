-- The day's flights from its raw state vectors: the transform of contract section 1, defined once.
-- Written in DuckDB's dialect; the Spark job runs it rendered for Spark SQL by sqlglot
-- (flightdq.etl.flights_sql). Input: a relation `raw_states` with one row per state vector read:
--   file_ord  the snapshot's position in the day's files ordered by name (i.e. by snapshot time)
--   i         the state's position in its snapshot
--   st        the state vector, each field as its JSON text (strings unquoted), a 1-based list
-- Placeholders (colon-prefixed below): day_start and day_end (unix seconds, [start, end)), gap_seconds.
-- Output: one row per flight, the contract's columns (first_seen and last_seen as unix seconds), and
-- states_read: the flight's states before de-duplication.
--
-- Rules: a state's time is its last_contact; only states whose last_contact falls inside the UTC day
-- count (so flights are cut at midnight); a flight is the run of states of one icao24 with one
-- callsign (null is a value of its own), split where the gap between consecutive states exceeds
-- gap_seconds; a state repeated in later snapshots (same icao24, callsign and last_contact: the API
-- returns an aircraft's state unchanged until it is heard again) counts once, the copy of the earliest
-- file (and first in it) kept. Values pass through untouched (the checks must see bad data); a value
-- of the wrong type fails the cast, and the run.
--
-- One sort does it all: the states of each icao24+callsign ordered by time (then file, position),
-- the least any flight segmentation needs. A repeat follows its first copy at a gap of 0, which
-- neither splits a flight nor counts; every aggregate below skips it.
WITH states AS (
    SELECT file_ord,
           i,
           lower(trim(st[1])) AS icao24,
           nullif(trim(st[2]), '') AS callsign,
           st[3] AS origin_country,
           CAST(st[5] AS BIGINT) AS last_contact,
           CAST(st[6] AS DOUBLE) AS longitude,
           CAST(st[7] AS DOUBLE) AS latitude,
           CAST(st[8] AS DOUBLE) AS baro_altitude,
           CAST(st[10] AS DOUBLE) AS velocity,
           st[15] AS squawk
    FROM raw_states
), marked AS (
    SELECT *,
           last_contact - lag(last_contact) OVER (
               PARTITION BY icao24, callsign ORDER BY last_contact, file_ord, i) AS gap
    FROM states
    WHERE icao24 IS NOT NULL AND last_contact >= :day_start AND last_contact < :day_end
), numbered AS (
    SELECT *,
           gap IS NULL OR gap > 0 AS kept,
           sum(CASE WHEN gap > :gap_seconds THEN 1 ELSE 0 END) OVER (
               PARTITION BY icao24, callsign ORDER BY last_contact, file_ord, i
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS flight_no
    FROM marked
)
SELECT icao24 || '-' || CAST(min(last_contact) AS VARCHAR) AS flight_id,
       icao24,
       callsign,
       arg_max(origin_country, last_contact) FILTER (WHERE kept AND origin_country IS NOT NULL)
           AS origin_country,
       min(last_contact) AS first_seen,
       max(last_contact) AS last_seen,
       count(*) FILTER (WHERE kept) AS position_count,
       arg_min(latitude, last_contact) FILTER (WHERE kept AND latitude IS NOT NULL AND longitude IS NOT NULL)
           AS first_latitude,
       arg_min(longitude, last_contact) FILTER (WHERE kept AND latitude IS NOT NULL AND longitude IS NOT NULL)
           AS first_longitude,
       arg_max(latitude, last_contact) FILTER (WHERE kept AND latitude IS NOT NULL AND longitude IS NOT NULL)
           AS last_latitude,
       arg_max(longitude, last_contact) FILTER (WHERE kept AND latitude IS NOT NULL AND longitude IS NOT NULL)
           AS last_longitude,
       max(baro_altitude) FILTER (WHERE kept) AS max_baro_altitude,
       max(velocity) FILTER (WHERE kept) AS max_velocity,
       arg_max(squawk, last_contact) FILTER (WHERE kept AND squawk IS NOT NULL) AS squawk,
       count(*) AS states_read
FROM numbered
GROUP BY icao24, callsign, flight_no
