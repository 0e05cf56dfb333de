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
-- returns an aircraft's state unchanged until it is heard again) counts once: the first and last
-- values come from its earliest copy (earliest file, first in it); where copies disagree (they never
-- do in the API's data), the maxima see every copy. Values pass through untouched
-- (the checks must see bad data); a value of the wrong type fails the cast, and the run.
--
-- No sort of the states: two states of one icao24+callsign in the same gap_seconds-long slice of the
-- day are less than gap_seconds apart, and so is every state between them, so a slice never holds a
-- split. The states are aggregated per slice (a hash aggregate, far fewer rows than states), and only
-- the slices are ordered to find the flights: a new flight where a slice starts more than
-- gap_seconds after the previous slice of its icao24+callsign ends. Copies order by `first_key` /
-- `last_key`: time first, then the earliest copy (2^46 > 86400 * 2^23 bounds; file_ord, i < 2^23).
-- A first or last value is taken by the key of its own kind (`country_key`, `first_position_key`,
-- ...), NULL where the state lacks the value: arg_min/arg_max (Spark: min_by/max_by) skip a NULL key
-- in both engines, as FILTER clauses would, at a fraction of their cost per state.
-- position_count counts distinct last_contacts without a distinct aggregate (which keeps one hash
-- entry per distinct state, ~135 M at 10-s polls, and does not spill): each slice ORs one 60-bit mask
-- per minute of the slice (bit s set: a state heard at second s of that minute; a repeat sets the
-- same bit), and counts the bits. 30 masks: gap_seconds is at most 1800 and a multiple of 60
-- (flights_sql checks). Every aggregate state is fixed-size, so the slice aggregate spills.
WITH states AS (
    SELECT CAST(file_ord AS BIGINT) AS file_ord,
           CAST(i AS BIGINT) AS i,
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
), keyed AS (
    SELECT *,
           CASE WHEN origin_country IS NOT NULL THEN last_key END AS country_key,
           CASE WHEN latitude IS NOT NULL AND longitude IS NOT NULL THEN first_key END AS first_position_key,
           CASE WHEN latitude IS NOT NULL AND longitude IS NOT NULL THEN last_key END AS last_position_key,
           CASE WHEN squawk IS NOT NULL THEN last_key END AS squawk_key,
           CAST(((last_contact - :day_start) % :gap_seconds) // 60 AS INTEGER) AS minute_of_slice,
           CAST(1 AS BIGINT) << CAST((last_contact - :day_start) % 60 AS INTEGER) AS second_bit
    FROM (
        SELECT *,
               (last_contact - :day_start) * 70368744177664 + file_ord * 8388608 + i AS first_key,
               (last_contact - :day_start) * 70368744177664 + (8388607 - file_ord) * 8388608 + (8388607 - i)
                   AS last_key
        FROM states
        WHERE icao24 IS NOT NULL AND last_contact >= :day_start AND last_contact < :day_end
    )
), slices AS (
    SELECT icao24,
           callsign,
           min(last_contact) AS first_seen,
           max(last_contact) AS last_seen,
           CAST(coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 0 THEN second_bit END)), 0) AS BIGINT)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 1 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 2 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 3 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 4 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 5 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 6 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 7 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 8 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 9 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 10 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 11 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 12 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 13 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 14 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 15 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 16 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 17 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 18 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 19 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 20 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 21 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 22 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 23 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 24 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 25 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 26 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 27 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 28 THEN second_bit END)), 0)
           + coalesce(bit_count(bit_or(CASE WHEN minute_of_slice = 29 THEN second_bit END)), 0)
               AS position_count,
           count(*) AS states_read,
           arg_max(origin_country, country_key) AS origin_country,
           max(country_key) AS country_key,
           arg_min(latitude, first_position_key) AS first_latitude,
           arg_min(longitude, first_position_key) AS first_longitude,
           min(first_position_key) AS first_position_key,
           arg_max(latitude, last_position_key) AS last_latitude,
           arg_max(longitude, last_position_key) AS last_longitude,
           max(last_position_key) AS last_position_key,
           max(baro_altitude) AS max_baro_altitude,
           max(velocity) AS max_velocity,
           arg_max(squawk, squawk_key) AS squawk,
           max(squawk_key) AS squawk_key
    FROM keyed
    GROUP BY icao24, callsign, CAST(floor((last_contact - :day_start) / :gap_seconds) AS BIGINT)
), marked AS (
    SELECT *,
           CASE WHEN first_seen - lag(last_seen) OVER (
                    PARTITION BY icao24, callsign ORDER BY first_seen) > :gap_seconds
                THEN 1 ELSE 0 END AS new_flight
    FROM slices
), numbered AS (
    SELECT *,
           sum(new_flight) OVER (PARTITION BY icao24, callsign ORDER BY first_seen
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS flight_no
    FROM marked
)
SELECT icao24 || '-' || CAST(min(first_seen) AS VARCHAR) AS flight_id,
       icao24,
       callsign,
       arg_max(origin_country, country_key) AS origin_country,
       min(first_seen) AS first_seen,
       max(last_seen) AS last_seen,
       sum(position_count) AS position_count,
       arg_min(first_latitude, first_position_key) AS first_latitude,
       arg_min(first_longitude, first_position_key) AS first_longitude,
       arg_max(last_latitude, last_position_key) AS last_latitude,
       arg_max(last_longitude, last_position_key) AS last_longitude,
       max(max_baro_altitude) AS max_baro_altitude,
       max(max_velocity) AS max_velocity,
       arg_max(squawk, squawk_key) AS squawk,
       sum(states_read) AS states_read
FROM numbered
GROUP BY icao24, callsign, flight_no
