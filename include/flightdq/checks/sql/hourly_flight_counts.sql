-- Flights per UTC hour of first_seen for every processed partition in a range (the checked days and
-- their baseline weeks): record_count_drift compares a day, or its hours so far, with its normal.
SELECT dt, hour(first_seen) AS hour, count(*) AS flights
FROM flightdata_processed
WHERE dt BETWEEN :start_dt AND :end_dt
GROUP BY dt, hour(first_seen)
ORDER BY dt, hour
