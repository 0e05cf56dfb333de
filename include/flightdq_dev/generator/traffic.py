"""The flights: each day's departures per operator, and the aircraft flying them. Each aircraft (a
24-bit address from its country's ICAO block) flies legs of 30 min to 12 h along a great circle,
climbing to a cruise level between 9,000 and 12,500 m (1,000-4,000 m for light aircraft), with
turnarounds of 45 min or more."""

from __future__ import annotations

import heapq
import math
from datetime import date

import numpy as np

from flightdq_dev.generator.common import day_start_unix
from flightdq_dev.generator.world import (
    ADDRESS_BLOCKS,
    DAY_NOISE_SD,
    FT25,
    HUBS,
    LIGHT_PROFILE,
    LOCAL_PROFILE,
    OPERATORS,
    WEEKDAY_FACTOR,
    Operator,
)


class Fleet:
    """Aircraft per operator: a heap of (available at, aircraft) so no aircraft flies two legs at once."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.icao24: list[str] = []
        self.country: list[str] = []
        self.category: list[int] = []  # -1: the 18th field is absent for this aircraft
        self.registration: list[str] = []
        self._used: set[int] = set()
        self._heaps: dict[int, list[tuple[int, int]]] = {}

    def assign(self, op_index: int, dep: int, ready_at: int) -> int:
        heap = self._heaps.setdefault(op_index, [])
        if heap and heap[0][0] <= dep:
            _, aircraft = heapq.heappop(heap)
        else:
            aircraft = self._new(OPERATORS[op_index])
        heapq.heappush(heap, (ready_at, aircraft))
        return aircraft

    def _new(self, op: Operator) -> int:
        lo, hi = ADDRESS_BLOCKS[op.country]
        while True:
            address = int(self.rng.integers(lo, hi + 1))
            if address not in self._used:
                break
        self._used.add(address)
        self.icao24.append(f"{address:06x}")
        self.country.append(op.country)
        light = bool(op.registration)
        if self.rng.random() < 0.35:
            # OpenSky categories: 2 light, 3 small, 4 large, 5 high-vortex large, 6 heavy
            self.category.append(int(self.rng.choice([2, 3] if light else [4, 4, 5, 6])))
        else:
            self.category.append(-1)
        self.registration.append(_registration(op.registration, self.rng) if light else "")
        return len(self.icao24) - 1


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _letters(rng: np.random.Generator, n: int) -> str:
    return "".join(_LETTERS[i] for i in rng.integers(0, 26, n))


def _registration(prefix: str, rng: np.random.Generator) -> str:
    if prefix == "N":  # N123AB
        return f"N{int(rng.integers(1, 1000))}{_letters(rng, int(rng.integers(0, 3)))}"
    return prefix + _letters(rng, 5 - len(prefix) if prefix != "G" else 4)


def _flight_numbers(op: Operator, rng: np.random.Generator, count: int) -> np.ndarray:
    """Flight numbers: 1-4 digits (BAW123), or 1-3 digits and 1-2 letters (DLH4AB, EZY78GR)."""
    numbers = rng.integers(1, 10_000, count)
    alnum = rng.random(count) < op.alnum
    short = rng.integers(1, 1000, count)
    letters = rng.integers(0, 26, (count, 2))
    two = rng.random(count) < 0.5
    out = np.empty(count, dtype=object)
    for i in range(count):
        if alnum[i]:
            tail = _LETTERS[letters[i, 0]] + (_LETTERS[letters[i, 1]] if two[i] else "")
            out[i] = f"{short[i]}{tail}"
        else:
            out[i] = str(numbers[i])
    return out


class Flights:
    """The flights departing on one UTC day, as parallel arrays ordered by departure."""

    def __init__(self, **columns: np.ndarray) -> None:
        self.columns = columns
        self.n = len(columns["dep"])

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["columns"][name]
        except KeyError:
            raise AttributeError(name) from None

    @staticmethod
    def concat(parts: list[Flights]) -> Flights:
        return Flights(**{k: np.concatenate([p.columns[k] for p in parts]) for k in parts[0].columns})

    def take(self, index: np.ndarray) -> Flights:
        return Flights(**{k: v[index] for k, v in self.columns.items()})


class Traffic:
    """The flights of the days scheduled and not yet forgotten, and the fleet flying them."""

    def __init__(self, *, seed: int, flights_per_weekday: int) -> None:
        self.seed = seed
        self.base = flights_per_weekday
        self.fleet = Fleet(np.random.default_rng([seed, 1]))
        self.flights: dict[date, Flights] = {}
        weights = np.array([op.weight for op in OPERATORS])
        self.op_share = weights / weights.sum()

    def day_flight_count(self, day: date) -> int:
        rng = np.random.default_rng([self.seed, day.toordinal(), 2])
        noise = float(np.clip(rng.normal(0.0, DAY_NOISE_SD), -0.035, 0.035))
        return max(1, round(self.base * WEEKDAY_FACTOR[day.weekday()] * (1 + noise)))

    def schedule_day(self, day: date) -> None:
        rng = np.random.default_rng([self.seed, day.toordinal(), 0])
        total = self.day_flight_count(day)
        per_op = rng.multinomial(total, self.op_share)
        day0 = day_start_unix(day)
        parts: dict[str, list[np.ndarray]] = {
            k: []
            for k in (
                "dep",
                "dur",
                "op",
                "lat0",
                "lon0",
                "bearing",
                "cruise",
                "vcruise",
                "climb",
                "desc",
                "turn",
                "geo_off",
                "pos_source",
                "no_pos",
                "squawk_code",
                "no_callsign",
                "flight_no",
            )
        }
        for op_index, (op, count) in enumerate(zip(OPERATORS, per_op, strict=True)):
            if count == 0:
                continue
            light = bool(op.registration)
            profile = LIGHT_PROFILE if light else LOCAL_PROFILE
            local_sec = rng.choice(24, count, p=profile / profile.sum()) * 3600 + rng.integers(0, 3600, count)
            dep = day0 + np.mod(local_sec - int(op.utc_offset * 3600), 86_400)
            if light:
                dur = rng.integers(30 * 60, 180 * 60, count)
                cruise = rng.uniform(1_000.0, 4_000.0, count)
                vcruise = rng.uniform(45.0, 80.0, count)
                climb = rng.uniform(3.0, 6.0, count)
                desc = rng.uniform(2.5, 5.0, count)
            else:
                long_haul = rng.random(count) < op.long_haul
                short = np.clip(rng.lognormal(math.log(95 * 60), 0.5, count), 30 * 60, 300 * 60)
                dur = np.where(long_haul, rng.uniform(300 * 60, 720 * 60, count), short).astype(np.int64)
                cruise = rng.integers(30, 42, count) * 1000 * 0.3048  # FL300 .. FL410
                vcruise = rng.uniform(215.0, 258.0, count)
                climb = rng.uniform(9.0, 15.0, count)
                desc = rng.uniform(6.0, 10.0, count)
            hubs = np.array([HUBS[h] for h in op.hubs])
            hub = hubs[rng.integers(0, len(hubs), count)]
            parts["dep"].append(dep.astype(np.int64))
            parts["dur"].append(np.asarray(dur, dtype=np.int64))
            parts["op"].append(np.full(count, op_index, dtype=np.int64))
            parts["lat0"].append(hub[:, 0] + rng.uniform(-0.02, 0.02, count))
            parts["lon0"].append(hub[:, 1] + rng.uniform(-0.02, 0.02, count))
            parts["bearing"].append(rng.uniform(0.0, 360.0, count))
            parts["cruise"].append(np.asarray(cruise, dtype=np.float64))
            parts["vcruise"].append(vcruise)
            parts["climb"].append(climb)
            parts["desc"].append(desc)
            parts["turn"].append(rng.integers(45 * 60, 120 * 60, count))
            parts["geo_off"].append(rng.integers(-10, 30, count) * FT25)
            # position source: 0 ADS-B, 1 ASTERIX, 2 MLAT, 3 FLARM
            source = rng.choice(4, count, p=[0.85, 0.0, 0.10, 0.05] if light else [0.93, 0.01, 0.06, 0.0])
            parts["pos_source"].append(source)
            parts["no_pos"].append(rng.random(count) < 0.02)
            squawk = rng.integers(0, 8**4, count)
            if light:
                squawk = np.where(rng.random(count) < 0.5, 0o1200, 0o7000)
            squawk = np.where(np.isin(squawk, [0o7500, 0o7600, 0o7700]), 0o2000, squawk)
            parts["squawk_code"].append(np.where(rng.random(count) < (0.2 if light else 0.05), -1, squawk))
            parts["no_callsign"].append(rng.random(count) < 0.03)
            parts["flight_no"].append(_flight_numbers(op, rng, count))
        cols = {k: np.concatenate(v) for k, v in parts.items()}
        order = np.argsort(cols["dep"], kind="stable")
        cols = {k: v[order] for k, v in cols.items()}
        n = len(order)
        if n >= 2**20:
            raise ValueError(f"{n} flights in a day is more than the generator numbers (2**20)")
        cols["uid"] = (day.toordinal() << 20) + np.arange(n, dtype=np.int64)
        cols["arr"] = cols["dep"] + cols["dur"]
        # aircraft: an operator's aircraft flies its next leg after a turnaround of 45 min or more
        aircraft = np.empty(n, dtype=np.int64)
        callsign = np.empty(n, dtype=object)
        ready = cols["arr"] + cols["turn"]
        for i in range(n):
            op_index = int(cols["op"][i])
            aircraft[i] = self.fleet.assign(op_index, int(cols["dep"][i]), int(ready[i]))
            op = OPERATORS[op_index]
            if cols["no_callsign"][i]:
                callsign[i] = None
            elif op.registration:
                callsign[i] = self.fleet.registration[aircraft[i]]
            else:
                callsign[i] = op.code + cols["flight_no"][i]
        cols["aircraft"] = aircraft
        cols["callsign"] = callsign
        self.flights[day] = Flights(**cols)

    def forget_before(self, day: date) -> None:
        for old in [d for d in self.flights if d < day]:
            del self.flights[old]
