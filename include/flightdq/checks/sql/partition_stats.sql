-- Rows, repeated flight_ids and the newest last_seen of every processed partition in a range, in one
-- pass. Feeds partition_presence (rows), duplicates and freshness (processed).
WITH per_flight AS (
    SELECT dt, flight_id, count(*) AS copies, max(last_seen) AS last_seen
    FROM flightdata_processed
    WHERE dt BETWEEN :start_dt AND :end_dt
    GROUP BY dt, flight_id
)
SELECT
    dt,
    sum(copies) AS row_count,
    count_if(copies > 1) AS duplicated_ids,
    sum(copies) - count(*) AS extra_rows,
    to_unixtime(max(last_seen)) AS newest_last_seen
FROM per_flight
GROUP BY dt
ORDER BY dt
