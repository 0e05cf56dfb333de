-- Flights per UTC hour of first_seen for every processed partition in a range (the checked days and
-- their baseline weeks): record_count_drift compares a day, or its hours so far, with its normal.
-- The hour is taken from the epoch (whole hours since 1970 modulo 24: the UTC hour), not with
-- hour(): on DuckDB hour() of a timestamp with time zone goes through ICU's calendar and costs 3x
-- the whole scan. A NULL first_seen has a NULL hour, which drift leaves out (as before).
SELECT dt, CAST(floor(to_unixtime(first_seen) / 3600) AS bigint) % 24 AS hour, count(*) AS flights
FROM flightdata_processed
WHERE dt BETWEEN :start_dt AND :end_dt
GROUP BY dt, CAST(floor(to_unixtime(first_seen) / 3600) AS bigint) % 24
ORDER BY dt, hour
