"""The raw snapshots: one object per poll, the body of an OpenSky `GET /states/all` response, gzipped,
plain or a seeded mix of both (`GZIP_MODES`), as the ingestion Lambda writes them. Polls go down to
5 seconds (`MIN_POLL_SECONDS`). A flying aircraft is in every snapshot; its `last_contact` is the
latest of the moments it was heard, each 0-9 s before a poll, so it never goes back, and at polls
under 10 s it often does not advance: the snapshot then repeats the aircraft's state unchanged (every
field of a state follows from the poll it was first heard at). Now and then a state is also repeated
from the previous snapshot at slower polls. The simulation is vectorised per (flight, snapshot) pair
and the JSON is assembled with Arrow string kernels, so a `global` day (millions of states) takes
tens of seconds, not hours; pairs are made a block of snapshots at a time, so memory stays bounded
at any cadence."""

from __future__ import annotations

import gzip
import itertools
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from flightdq.core import layout
from flightdq_dev.generator.common import day_start_unix
from flightdq_dev.generator.traffic import Fleet, Flights, Traffic
from flightdq_dev.generator.world import FT25

if TYPE_CHECKING:
    import pyarrow as pa

GZIP_LEVEL = 1  # raw objects: the fastest level (a global day is ~300 MB of JSON to compress)
GZIP_MODES = ("mixed", "all", "none")  # a seeded half of the objects gzipped, every one, none
MIN_POLL_SECONDS = 5
LAG_SECONDS = 10  # an aircraft is last heard 0..LAG_SECONDS-1 s before a poll
BLOCK_STATES = 250_000  # (flight, snapshot) pairs simulated at a time
_EARTH_RADIUS_M = 6_371_000.0
_U64 = np.uint64


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x ^ (x >> _U64(30))
    x = x * _U64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> _U64(27))
    x = x * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


class Snapshots:
    """The snapshot objects of each day, made from the flights of a `Traffic`."""

    def __init__(self, *, seed: int, poll: int, gzip: str = "mixed") -> None:
        if poll < MIN_POLL_SECONDS:
            raise ValueError(f"poll_seconds must be at least {MIN_POLL_SECONDS}, not {poll}")
        if gzip not in GZIP_MODES:
            raise ValueError(f"gzip must be one of {', '.join(GZIP_MODES)}, not {gzip!r}")
        self.seed = seed
        self.poll = poll
        self.gzip = gzip

    # deterministic per-state randomness: a hash of (flight, snapshot, purpose)
    def _uniform(self, uid: np.ndarray, key: np.ndarray, salt: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            x = uid.astype(_U64) * _U64(0x9E3779B97F4A7C15)
            x = x ^ (key.astype(_U64) * _U64(0xC2B2AE3D27D4EB4F))
            x = x ^ _U64((self.seed * 0x100000001B3 + salt * 0x2545F4914F6CDD1D) % 2**64)
            x = _mix64(x)
        return (x >> _U64(11)).astype(np.float64) * (1.0 / 2**53)

    def snapshot_times(self, day: date) -> np.ndarray:
        rng = np.random.default_rng([self.seed, day.toordinal(), 3])
        count = (86_400 - 60) // self.poll + 1
        offset = int(rng.integers(15, 45))  # first poll 15-44 s into the day
        # and a few seconds of scheduling jitter each (less at polls under 9 s: times stay in order)
        jitter = rng.integers(0, max(1, min(5, self.poll - 4)), count)
        return day_start_unix(day) + offset + np.arange(count, dtype=np.int64) * self.poll + jitter

    def write_raw_day(self, raw_root: Path, day: date, traffic: Traffic) -> tuple[int, int]:
        """Write every snapshot object of the day; returns (objects, states)."""
        times = self.snapshot_times(day)
        day0 = day_start_unix(day)
        flights = Flights.concat([traffic.flights[d] for d in sorted(traffic.flights) if d <= day])
        flights = flights.take(np.flatnonzero((flights.arr >= times[0]) & (flights.dep <= times[-1])))
        # a flight is in every snapshot from its departure to its arrival: snapshots first..last
        first = np.searchsorted(times, flights.dep, side="left")
        last = np.searchsorted(times, flights.arr, side="right") - 1
        active = np.zeros(len(times) + 1, dtype=np.int64)
        np.add.at(active, first[first <= last], 1)
        np.add.at(active, last[first <= last] + 1, -1)
        per_snapshot = np.cumsum(active)[: len(times)]
        bounds = np.concatenate([[0], np.cumsum(per_snapshot)])

        text = _FlightText(flights, traffic.fleet)
        gz_draw = np.random.default_rng([self.seed, day.toordinal(), 4]).random(len(times))
        # blocks of whole snapshots, about BLOCK_STATES states each
        chunk_starts = [0]
        for j in range(1, len(times)):
            if bounds[j] - bounds[chunk_starts[-1]] >= BLOCK_STATES:
                chunk_starts.append(j)
        chunk_starts.append(len(times))
        by_first = np.argsort(first, kind="stable")
        made_dirs: set[Path] = set()
        # compression and writing run in threads (zlib and file I/O release the GIL) while the next
        # chunk is simulated; at most two chunks are in flight
        with ThreadPoolExecutor(max_workers=2) as pool:
            in_flight: list[Future] = []
            for a, b in itertools.pairwise(chunk_starts):
                f_idx, j_idx = _pairs(first, last, by_first, a, b)
                data, offsets = self._state_rows(flights, text, f_idx, j_idx, first, times, day)
                view = memoryview(data)
                lo = bounds[a]
                submitted = []
                for j in range(a, b):
                    unix = int(times[j])
                    s, e = bounds[j] - lo, bounds[j + 1] - lo
                    if e > s:
                        states = view[offsets[s] : offsets[e] - 1]  # without the last row's comma
                        body = b"".join((b'{"time":%d,"states":[' % unix, states, b"]}"))
                    else:
                        body = b'{"time":%d,"states":null}' % unix
                    gz = self.gzip == "all" or (self.gzip == "mixed" and bool(gz_draw[j] < 0.5))
                    path = raw_root / layout.raw_key(day, (unix - day0) // 3600, unix, gzip=gz)
                    if path.parent not in made_dirs:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        made_dirs.add(path.parent)
                    submitted.append(pool.submit(_write_object, path, body, gz))
                for future in in_flight:
                    future.result()
                in_flight = submitted
            for future in in_flight:
                future.result()
        return len(times), int(bounds[-1])

    def _key(self, day: date, j: np.ndarray) -> np.ndarray:
        # room for 4096 snapshots a day at polls of 22 s and more (the keys the generator always
        # used), for 17,280 (5-s polls) below that
        return np.int64(day.toordinal()) * (4096 if self.poll >= 22 else 1 << 15) + j

    def _heard(
        self, uid: np.ndarray, dep: np.ndarray, j: np.ndarray, times: np.ndarray, day: date
    ) -> np.ndarray:
        """When the aircraft was heard at poll j: under LAG_SECONDS before it, not before departure."""
        lag = np.floor(self._uniform(uid, self._key(day, j), 10) * LAG_SECONDS).astype(np.int64)
        return np.maximum(times[j] - lag, dep)

    def _state_rows(
        self,
        fl: Flights,
        text: _FlightText,
        f: np.ndarray,
        j: np.ndarray,
        first: np.ndarray,
        times: np.ndarray,
        day: date,
    ) -> tuple[Any, np.ndarray]:
        """The JSON text of the states of pairs (f, j), each row `[...],`; returns (bytes, offsets)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        uid = fl.uid[f]
        dep, arr = fl.dep[f], fl.arr[f]
        day0 = day_start_unix(day)
        # now and then a state is repeated unchanged from the previous snapshot (odd snapshots only,
        # so a repeated state is never itself a repeat)
        prev = np.maximum(j - 1, 0)
        repeat = (j % 2 == 1) & (times[prev] >= dep) & (self._uniform(uid, self._key(day, j), 1) < 0.03)
        je = j - repeat.astype(np.int64)
        # last_contact: the latest moment heard at the polls up to je, so it never goes back. Polls
        # LAG_SECONDS or more apart always hear it anew; closer ones look back `reach` polls.
        min_gap = max(1, int(np.min(np.diff(times))) if len(times) > 1 else self.poll)
        reach = 0 if min_gap >= LAG_SECONDS else -(-LAG_SECONDS // min_gap)
        last_contact = self._heard(uid, dep, je, times, day)
        for back in range(1, reach + 1):
            earlier = je - back
            valid = earlier >= first[f]
            heard = self._heard(uid, dep, np.maximum(earlier, 0), times, day)
            later = valid & (heard >= last_contact)  # >=: the earliest poll that heard it names it
            je = np.where(later, earlier, je)
            last_contact = np.where(later, heard, last_contact)
        key = self._key(day, je)
        u = [self._uniform(uid, key, salt) for salt in range(10, 24)]
        age = np.where(u[1] < 0.7, 0, np.where(u[1] < 0.98, 1 + np.floor(u[2] * 4), 20 + np.floor(u[2] * 40)))
        time_position = np.maximum(last_contact - age.astype(np.int64), np.maximum(dep, day0))
        no_pos = fl.no_pos[f]

        dur = (arr - dep).astype(np.float64)
        tau = (last_contact - dep).astype(np.float64)
        cruise, climb, desc = fl.cruise[f], fl.climb[f], fl.desc[f]
        up, down = climb * tau, desc * (dur - tau)
        alt = np.minimum(cruise, np.minimum(up, down))
        climbing = up < np.minimum(cruise, down)
        descending = ~climbing & (down < cruise)
        cruising = ~climbing & ~descending
        wobble = np.where(cruising, np.floor(u[3] * 3) - 1, 0.0) * FT25
        baro = np.round(np.round(alt / FT25) * FT25 + wobble, 2)
        geo = np.round(baro + fl.geo_off[f], 2)
        vc = fl.vcruise[f]
        light = vc < 100
        v0 = np.where(light, 28.0, 70.0)
        velocity = np.round(v0 + (vc - v0) * np.clip(alt / (0.6 * cruise), 0, 1) + (u[4] - 0.5) * 2, 2)
        vertical = np.where(climbing, climb, np.where(descending, -desc, 0.0))
        vertical_noise = np.where(cruising, (np.floor(u[5] * 3) - 1) * 0.33, (u[5] - 0.5) * 1.3)
        vertical = np.round(vertical + vertical_noise, 2)

        # position along the great circle, at the position's own time
        tpos = np.maximum(time_position - dep, 0).astype(np.float64)
        delta = vc * 0.95 * tpos / _EARTH_RADIUS_M
        phi1, lam1, theta = np.radians(fl.lat0[f]), np.radians(fl.lon0[f]), np.radians(fl.bearing[f])
        sin_phi2 = np.sin(phi1) * np.cos(delta) + np.cos(phi1) * np.sin(delta) * np.cos(theta)
        phi2 = np.arcsin(np.clip(sin_phi2, -1.0, 1.0))
        lam2 = lam1 + np.arctan2(
            np.sin(theta) * np.sin(delta) * np.cos(phi1), np.cos(delta) - np.sin(phi1) * sin_phi2
        )
        track = np.arctan2(
            np.sin(theta) * np.cos(phi1),
            np.cos(delta) * np.cos(theta) * np.cos(phi1) - np.sin(delta) * np.sin(phi1),
        )
        latitude = np.round(np.degrees(phi2), 4)
        longitude = np.round(np.mod(np.degrees(lam2) + 180.0, 360.0) - 180.0, 4)
        true_track = np.round(np.mod(np.degrees(track), 360.0), 2)

        no_baro = u[6] < 0.005
        no_velocity = u[7] < 0.005
        no_geo = no_baro | (u[8] < 0.03)
        squawk_code = fl.squawk_code[f]
        no_squawk = (squawk_code < 0) | (u[9] < 0.01)
        spi = u[10] < 0.0005
        has_sensors = u[11] < 0.02

        def floats(values: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
            values = values + 0.0  # turns -0.0 into 0.0
            s = pc.cast(pa.array(values), pa.string())  # shortest round-trip form, "11000" for 11000.0
            suffix = pc.if_else(pa.array(values == np.floor(values)), ".0", "")  # keep floats floats
            s = pc.binary_join_element_wise(s, suffix, "")
            return s if null is None else pc.if_else(pa.array(null), "null", s)

        def ints(values: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
            s = pc.cast(pa.array(values), pa.string())
            return s if null is None else pc.if_else(pa.array(null), "null", s)

        take = pa.array(f)
        sensor_ids = (1000 + np.floor(u[12] * 9000)).astype(np.int64)
        second_sensor = pa.array(np.where(u[13] < 0.5, "", ",1411").astype(object), pa.string())
        sensors = pc.if_else(
            pa.array(has_sensors),
            pc.binary_join_element_wise("[", ints(sensor_ids), second_sensor, "]", ""),
            "null",
        )
        squawk = pc.if_else(pa.array(no_squawk), "null", pc.take(text.squawk, take))
        columns = [
            pc.take(text.icao24, take),
            pc.take(text.callsign, take),
            pc.take(text.country, take),
            ints(time_position, no_pos),
            ints(last_contact),
            floats(longitude, no_pos),
            floats(latitude, no_pos),
            floats(baro, no_baro),
            "false",
            floats(velocity, no_velocity),
            floats(true_track, no_velocity | no_pos),
            floats(vertical, no_velocity),
            sensors,
            floats(geo, no_geo),
            squawk,
            pc.if_else(pa.array(spi), "true", "false"),
            ints(fl.pos_source[f]),
        ]
        joined = pc.binary_join_element_wise(*columns, ",")
        rows = pc.binary_join_element_wise("[", joined, pc.take(text.category, take), "],", "")
        rows = rows.cast(pa.large_string())
        offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset : rows.offset + len(rows) + 1]
        data = rows.buffers()[2]
        return data, offsets - offsets[0] if rows.offset else offsets


def _pairs(
    first: np.ndarray, last: np.ndarray, by_first: np.ndarray, a: int, b: int
) -> tuple[np.ndarray, np.ndarray]:
    """The (flight, snapshot) pairs of snapshots a..b-1, ordered by snapshot."""
    started = by_first[: np.searchsorted(first[by_first], b, side="left")]
    flying = started[last[started] >= a]
    lo = np.maximum(first[flying], a)
    hi = np.minimum(last[flying], b - 1)
    counts = np.maximum(hi - lo + 1, 0)
    f_idx = np.repeat(flying, counts)
    starts = np.cumsum(counts) - counts
    j_idx = np.repeat(lo, counts) + (np.arange(len(f_idx)) - np.repeat(starts, counts))
    order = np.lexsort((f_idx, j_idx))
    return f_idx[order], j_idx[order]


def _write_object(path: Path, body: bytes, gz: bool) -> None:
    path.write_bytes(gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0) if gz else body)


class _FlightText:
    """Per-flight JSON fragments (quoted strings, the optional 18th field), taken per state."""

    def __init__(self, fl: Flights, fleet: Fleet) -> None:
        import pyarrow as pa

        aircraft = fl.aircraft
        self.icao24 = pa.array([f'"{fleet.icao24[a]}"' for a in aircraft], pa.string())
        self.country = pa.array([f'"{fleet.country[a]}"' for a in aircraft], pa.string())
        self.callsign = pa.array(["null" if c is None else f'"{c:<8}"' for c in fl.callsign], pa.string())
        self.squawk = pa.array([f'"{c:04o}"' if c >= 0 else "null" for c in fl.squawk_code], pa.string())
        self.category = pa.array(
            ["" if fleet.category[a] < 0 else f",{fleet.category[a]}" for a in aircraft], pa.string()
        )
