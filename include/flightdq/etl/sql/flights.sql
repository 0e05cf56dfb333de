-- The day's flights from its raw state vectors: the transform of contract section 1, defined once.
-- Written in DuckDB's dialect; the Spark job runs it rendered for Spark SQL by sqlglot
-- (flightdq.etl.flights_sql). Input: a relation `raw_states` with one row per state vector read:
--   file_ord  the snapshot's position in the day's files ordered by name (i.e. by snapshot time)
--   i         the state's position in its snapshot
--   st        the state vector, each field as its JSON text (strings unquoted), a 1-based list
-- Placeholders (colon-prefixed below): day_start and day_end (unix seconds, [start, end)), gap_seconds.
--
-- Rules: a state's time is its last_contact; a state repeated in later snapshots (same icao24 and
-- last_contact) counts once, the copy of the earliest file (and first in it) kept; only states whose
-- last_contact falls inside the UTC day count (so flights are cut at midnight); a flight is the run
-- of states of one icao24 with one callsign (null is a value of its own), split where the gap
-- between consecutive states exceeds gap_seconds. Values pass through untouched (the checks must
-- see bad data); a value of the wrong type fails the cast, and the run.
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
), day_states AS (
    SELECT *
    FROM states
    WHERE icao24 IS NOT NULL AND last_contact >= :day_start AND last_contact < :day_end
    QUALIFY row_number() OVER (PARTITION BY icao24, last_contact ORDER BY file_ord, i) = 1
), marked AS (
    SELECT *,
           CASE WHEN last_contact - lag(last_contact) OVER (
                    PARTITION BY icao24, callsign ORDER BY last_contact) > :gap_seconds
                THEN 1 ELSE 0 END AS new_flight
    FROM day_states
), numbered AS (
    SELECT *,
           sum(new_flight) OVER (PARTITION BY icao24, callsign ORDER BY last_contact
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS flight_no
    FROM marked
)
SELECT icao24 || '-' || CAST(min(last_contact) AS VARCHAR) AS flight_id,
       icao24,
       callsign,
       arg_max(origin_country, last_contact) FILTER (WHERE origin_country IS NOT NULL) AS origin_country,
       min(last_contact) AS first_seen,
       max(last_contact) AS last_seen,
       count(*) AS position_count,
       arg_min(latitude, last_contact) FILTER (WHERE latitude IS NOT NULL AND longitude IS NOT NULL)
           AS first_latitude,
       arg_min(longitude, last_contact) FILTER (WHERE latitude IS NOT NULL AND longitude IS NOT NULL)
           AS first_longitude,
       arg_max(latitude, last_contact) FILTER (WHERE latitude IS NOT NULL AND longitude IS NOT NULL)
           AS last_latitude,
       arg_max(longitude, last_contact) FILTER (WHERE latitude IS NOT NULL AND longitude IS NOT NULL)
           AS last_longitude,
       max(baro_altitude) AS max_baro_altitude,
       max(velocity) AS max_velocity,
       arg_max(squawk, last_contact) FILTER (WHERE squawk IS NOT NULL) AS squawk
FROM numbered
GROUP BY icao24, callsign, flight_no
