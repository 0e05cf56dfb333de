-- Flights per processed partition in a range (the checked days and their baseline weeks), for
-- record_count_drift when every checked day is already over: a whole day needs no hourly split.
-- Counts the rows with a first_seen, as the hourly counts do (a NULL first_seen has no hour).
SELECT dt, count(first_seen) AS flights
FROM flightdata_processed
WHERE dt BETWEEN :start_dt AND :end_dt
GROUP BY dt
ORDER BY dt
