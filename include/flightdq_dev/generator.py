"""A sample-lake generator: realistic OpenSky snapshots, the ETL's processed partitions, planted faults.

`generate_lake(root, end=..., days=...)` writes a local lake laid out exactly like the buckets
(contract section 1):

1. raw snapshot objects `<root>/flightdata-raw/year=/month=/day=/hour=/states_<unix>.json[.gz]`, one per
   poll, each the body of an OpenSky `GET /states/all` response (a seeded mix of gzip and plain);
2. each day's processed partition, made by `flightdq.etl.transform.run_local_etl` from those raw objects,
   so the processed data is always what the ETL makes of the raw data;
3. each partition registered in the local catalog;
4. the planted faults (`FAULTS`), each on its day, with the evidence it must leave;
5. `<root>/_generator/manifest.json`: what was generated and, per fault, which check should catch it.

Everything is a function of the arguments: the same arguments give byte-identical raw objects and
manifest (no wall clock, gzip mtime 0, seeded generators and counter-based hashing).

The traffic model. Airlines (and some general aviation) fly from their hubs with departures following a
local-time profile per region, so the UTC day has a daily cycle (trough around 02-05 UTC), Saturdays
and Sundays are quieter than weekdays, and each day gets a few % of seeded noise. Each aircraft (a
24-bit address from its country's ICAO block) flies legs of 30 min to 12 h along a great circle,
climbing to a cruise level between 9,000 and 12,500 m (1,000-4,000 m for light aircraft), with
turnarounds of 45 min or more. A flying aircraft is in every snapshot, its `last_contact` a few
seconds before the snapshot's `time`; now and then a state is repeated unchanged from the previous
snapshot. The simulation is vectorised per (flight, snapshot) pair and the JSON is assembled with
Arrow string kernels, so a `global` day (millions of states) takes tens of seconds, not hours.
"""

from __future__ import annotations

import gzip
import heapq
import itertools
import json
import math
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from flightdq.core import layout
from flightdq.core.contract import (
    DUPLICATES,
    FRESHNESS,
    PARTITION_PRESENCE,
    PROCESSED_BUCKET,
    PROCESSED_DATASET,
    PROCESSED_TABLE,
    RAW_BUCKET,
    RAW_DATASET,
    RECORD_COUNT_DRIFT,
    SCHEMA_VALIDITY,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from flightdq.backends.local.catalog import LocalCatalog
    from flightdq.core.config import Policy

# --- public API -------------------------------------------------------------------------------------

FAULTS = (
    "missing_partition",
    "unregistered_partition",
    "empty_partition",
    "zero_rows_partition",
    "missing_raw_hours",
    "record_count_drop",
    "invalid_rows_minor",
    "invalid_rows_major",
    "renamed_column",
    "retyped_column",
    "duplicate_flight_ids",
    "stops_early",
)

MANIFEST_FILE = "_generator/manifest.json"
MISSING_RAW_HOURS = (3, 4, 5)  # missing_raw_hours deletes these UTC hours
STOPS_EARLY_HOUR = 17  # stops_early deletes every snapshot from this UTC hour on
RECORD_DROP_RATIO = 0.35
INVALID_MINOR_RATIO = 0.005
INVALID_MAJOR_RATIO = 0.03
DUPLICATE_RATIO = 0.005
GZIP_LEVEL = 1  # raw objects: the fastest level (a global day is ~300 MB of JSON to compress)


@dataclass(frozen=True)
class SizeSpec:
    flights_per_weekday: int
    poll_seconds: int


SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec(60, 600),  # tests
    "demo": SizeSpec(200, 600),  # `make demo`: a 40-day lake in seconds
    "global": SizeSpec(160_000, 300),  # benchmarks: millions of raw states per day
}


@dataclass(frozen=True)
class PlantedFault:
    fault: str
    dt: str
    dataset: str
    check: str
    severity: str | None = None  # None: the check is expected to pass (a control)
    detail: str = ""

    @property
    def expected_status(self) -> str:
        return "pass" if self.severity is None else "fail"


@dataclass(frozen=True)
class LakeManifest:
    root: str
    start: str
    end: str
    seed: int
    size: str
    flights_per_weekday: int
    healthy_days: list[str]
    faults: list[PlantedFault]
    poll_seconds: int = 600
    raw_objects: int = 0
    raw_states: int = 0
    processed_rows: dict[str, int] = field(default_factory=dict)  # dt -> rows after faults

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> LakeManifest:
        data = json.loads(text)
        data["faults"] = [PlantedFault(**f) for f in data.get("faults", [])]
        return cls(**data)

    @classmethod
    def load(cls, root: Path) -> LakeManifest:
        return cls.from_json((Path(root) / MANIFEST_FILE).read_text())

    def fault_on(self, dt: str) -> PlantedFault | None:
        return next((f for f in self.faults if f.dt == dt), None)


def default_demo_faults(end: date) -> dict[str, date]:
    """One fault of each kind, on the last 12 days (one per day) so the 28 days before stay healthy
    baseline history. The first five kinds leave row counts alone: their days are the baseline
    (same weekday, a week earlier) of the last days, and must not skew it."""
    order = (
        "invalid_rows_minor",
        "retyped_column",
        "invalid_rows_major",
        "renamed_column",
        "duplicate_flight_ids",
        "missing_partition",
        "unregistered_partition",
        "empty_partition",
        "zero_rows_partition",
        "missing_raw_hours",
        "record_count_drop",
        "stops_early",
    )
    assert sorted(order) == sorted(FAULTS)
    first = end - timedelta(days=len(order) - 1)
    return {name: first + timedelta(days=i) for i, name in enumerate(order)}


def generate_lake(
    root: Path,
    *,
    end: date,
    days: int,
    seed: int = 7,
    size: str = "demo",
    faults: dict[str, date] | None = None,
    poll_seconds: int | None = None,
) -> LakeManifest:
    """Write a sample lake under `root` (which must be empty or absent) for the `days` UTC days
    ending at `end` inclusive, plant `faults` (fault name -> day), and return the manifest."""
    if size not in SIZES:
        raise ValueError(f"size {size!r} is not one of {', '.join(SIZES)}")
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed}")
    poll = SIZES[size].poll_seconds if poll_seconds is None else int(poll_seconds)
    if not 60 <= poll <= 3600:
        raise ValueError(f"poll_seconds must be within 60..3600 (every hour needs a snapshot), not {poll}")
    start = end - timedelta(days=days - 1)
    planned = _validate_faults(faults or {}, start, end)

    root = Path(root).absolute()  # the catalog keeps absolute partition locations
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty; the generator writes only into a fresh folder")
    root.mkdir(parents=True, exist_ok=True)
    try:
        manifest = _generate(root, start, end, seed, size, poll, planned)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)  # everything in it is ours: no half-made lake is left
        raise
    path = root / MANIFEST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(manifest.to_json())
    return manifest


def _generate(
    root: Path, start: date, end: date, seed: int, size: str, poll: int, planned: dict[str, date]
) -> LakeManifest:
    spec = SIZES[size]
    sim = _Simulator(seed=seed, flights_per_weekday=spec.flights_per_weekday, poll=poll)
    raw_objects = raw_states = 0
    for day in _days(start - timedelta(days=1), end):  # the day before: flights airborne at midnight
        sim.schedule_day(day)
        if day >= start:
            objects, states = sim.write_raw_day(root / RAW_BUCKET, day)
            raw_objects += objects
            raw_states += states
        sim.forget_before(day)

    from flightdq.backends.local.catalog import LocalCatalog

    catalog = LocalCatalog(root)
    rows: dict[str, int] = {}
    for day in _days(start, end):
        outcome = _run_etl(root, day)
        rows[str(day)] = int(outcome.rows)
        catalog.register(PROCESSED_TABLE, [(str(day), str(_partition_folder(root, day)))])

    planted = []
    for name, day in sorted(planned.items(), key=lambda item: (item[1], item[0])):
        planter = _Planter(root, day, seed, catalog)
        planted.append(planter.plant(name))
        rows[str(day)] = planter.rows_after

    fault_days = {f.dt for f in planted}
    return LakeManifest(
        root=str(root),
        start=str(start),
        end=str(end),
        seed=seed,
        size=size,
        flights_per_weekday=spec.flights_per_weekday,
        healthy_days=[str(d) for d in _days(start, end) if str(d) not in fault_days],
        faults=planted,
        poll_seconds=poll,
        raw_objects=raw_objects,
        raw_states=raw_states,
        processed_rows=rows,
    )


# --- helpers ------------------------------------------------------------------------------------------


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _day_start_unix(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _partition_folder(root: Path, day: date) -> Path:
    return Path(root) / PROCESSED_BUCKET / layout.processed_partition_prefix(day)


def _run_etl(root: Path, day: date):  # -> flightdq.etl.transform.EtlOutcome
    from flightdq.etl.transform import run_local_etl

    return run_local_etl(Path(root), day)


def _validate_faults(faults: dict[str, date | str], start: date, end: date) -> dict[str, date]:
    planned: dict[str, date] = {}
    for name, when in faults.items():
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known faults: {', '.join(FAULTS)}")
        day = date.fromisoformat(when) if isinstance(when, str) else when
        if not start <= day <= end:
            raise ValueError(f"fault {name} on {day} is outside the generated days {start}..{end}")
        planned[name] = day
    by_day: dict[date, list[str]] = {}
    for name, day in planned.items():
        by_day.setdefault(day, []).append(name)
    shared = {str(d): names for d, names in by_day.items() if len(names) > 1}
    if shared:
        raise ValueError(f"one fault per day keeps each fault's evidence unambiguous; shared days: {shared}")
    return planned


# --- the traffic model --------------------------------------------------------------------------------

# ICAO 24-bit address blocks of the countries we fly from (first, last address).
_ADDRESS_BLOCKS: dict[str, tuple[int, int]] = {
    "Germany": (0x3C0000, 0x3FFFFF),
    "United Kingdom": (0x400000, 0x43FFFF),
    "France": (0x380000, 0x3BFFFF),
    "Kingdom of the Netherlands": (0x480000, 0x487FFF),
    "Ireland": (0x4CA000, 0x4CAFFF),
    "Switzerland": (0x4B0000, 0x4B7FFF),
    "Spain": (0x340000, 0x37FFFF),
    "Italy": (0x300000, 0x33FFFF),
    "Turkey": (0x4B8000, 0x4BFFFF),
    "United States": (0xA00000, 0xAFFFFF),
    "Canada": (0xC00000, 0xC3FFFF),
    "Brazil": (0xE40000, 0xE7FFFF),
    "China": (0x780000, 0x7BFFFF),
    "Japan": (0x840000, 0x87FFFF),
    "Republic of Korea": (0x718000, 0x71FFFF),
    "Singapore": (0x768000, 0x76FFFF),
    "India": (0x800000, 0x83FFFF),
    "United Arab Emirates": (0x896000, 0x896FFF),
    "Qatar": (0x06A000, 0x06AFFF),
    "Australia": (0x7C0000, 0x7FFFFF),
}

# fmt: off
_HUBS: dict[str, tuple[float, float]] = {
    "FRA": (50.033, 8.571), "MUC": (48.354, 11.786), "DUS": (51.289, 6.767), "LHR": (51.470, -0.454),
    "LGW": (51.153, -0.182), "CDG": (49.010, 2.548), "ORY": (48.723, 2.379), "AMS": (52.310, 4.768),
    "DUB": (53.421, -6.270), "STN": (51.885, 0.235), "ZRH": (47.458, 8.548), "MAD": (40.472, -3.561),
    "BCN": (41.297, 2.078), "FCO": (41.800, 12.239), "IST": (41.262, 28.742), "ATL": (33.637, -84.428),
    "ORD": (41.974, -87.907), "DFW": (32.900, -97.040), "DEN": (39.856, -104.674),
    "LAX": (33.942, -118.408), "JFK": (40.640, -73.779), "SEA": (47.450, -122.309),
    "SFO": (37.619, -122.375), "MDW": (41.786, -87.752), "MEM": (35.042, -89.977),
    "SDF": (38.174, -85.736), "YYZ": (43.677, -79.631), "YVR": (49.195, -123.184),
    "YYC": (51.132, -114.010), "GRU": (-23.432, -46.469), "PEK": (40.080, 116.585),
    "PVG": (31.143, 121.805), "CAN": (23.392, 113.299), "HND": (35.549, 139.780),
    "NRT": (35.772, 140.393), "ICN": (37.460, 126.441), "SIN": (1.364, 103.991), "DEL": (28.556, 77.100),
    "BOM": (19.090, 72.868), "DXB": (25.253, 55.365), "DOH": (25.273, 51.608), "SYD": (-33.940, 151.175),
    "MEL": (-37.670, 144.843), "EDDS": (48.690, 9.222), "EGTK": (51.837, -1.320), "LFPN": (48.752, 2.106),
    "KVNY": (34.210, -118.490), "KFRG": (40.729, -73.413), "KAPA": (39.570, -104.849),
}
# fmt: on


@dataclass(frozen=True)
class _Operator:
    code: str  # ICAO airline designator; "" for light aircraft flying under their registration
    country: str
    utc_offset: float  # hours; departures follow the local day
    weight: float  # share of the traffic
    hubs: tuple[str, ...]
    long_haul: float = 0.0  # share of its flights lasting 5-12 h
    alnum: float = 0.0  # share of alphanumeric flight numbers (DLH4AB)
    registration: str = ""  # light aircraft: registration prefix (N, DE, G, F, ...)


_OPERATORS: tuple[_Operator, ...] = (
    # Europe (OpenSky's best coverage)
    _Operator("DLH", "Germany", 1, 4.0, ("FRA", "MUC"), 0.12, 0.3),
    _Operator("EWG", "Germany", 1, 2.0, ("DUS", "MUC", "FRA"), 0.0, 0.5),
    _Operator("BAW", "United Kingdom", 0, 3.5, ("LHR", "LGW"), 0.18, 0.2),
    _Operator("EZY", "United Kingdom", 0, 3.0, ("LGW", "STN"), 0.0, 0.6),
    _Operator("AFR", "France", 1, 3.0, ("CDG", "ORY"), 0.15, 0.2),
    _Operator("KLM", "Kingdom of the Netherlands", 1, 2.5, ("AMS",), 0.15, 0.0),
    _Operator("RYR", "Ireland", 0, 5.0, ("DUB", "STN", "BCN"), 0.0, 0.5),
    _Operator("SWR", "Switzerland", 1, 1.5, ("ZRH",), 0.12, 0.0),
    _Operator("IBE", "Spain", 1, 1.5, ("MAD",), 0.12, 0.0),
    _Operator("VLG", "Spain", 1, 2.0, ("BCN", "MAD"), 0.0, 0.0),
    _Operator("ITY", "Italy", 1, 1.0, ("FCO",), 0.08, 0.0),
    _Operator("THY", "Turkey", 3, 3.0, ("IST",), 0.15, 0.1),
    # North America
    _Operator("AAL", "United States", -6, 5.0, ("DFW", "ORD"), 0.06, 0.0),
    _Operator("DAL", "United States", -5, 5.0, ("ATL", "JFK"), 0.06, 0.0),
    _Operator("UAL", "United States", -6, 4.5, ("ORD", "DEN", "SFO"), 0.08, 0.0),
    _Operator("SWA", "United States", -6, 5.0, ("DEN", "MDW", "DFW"), 0.0, 0.0),
    _Operator("JBU", "United States", -5, 1.5, ("JFK",), 0.0, 0.0),
    _Operator("ASA", "United States", -8, 1.5, ("SEA", "LAX"), 0.0, 0.0),
    _Operator("FDX", "United States", -6, 1.0, ("MEM",), 0.2, 0.0),
    _Operator("UPS", "United States", -5, 0.8, ("SDF",), 0.2, 0.0),
    _Operator("ACA", "Canada", -5, 1.5, ("YYZ", "YVR"), 0.12, 0.0),
    _Operator("WJA", "Canada", -7, 1.0, ("YYC", "YYZ"), 0.0, 0.0),
    _Operator("TAM", "Brazil", -3, 1.0, ("GRU",), 0.05, 0.0),
    # Asia, Gulf, Oceania (thinner coverage)
    _Operator("CCA", "China", 8, 1.0, ("PEK",), 0.08, 0.0),
    _Operator("CES", "China", 8, 1.0, ("PVG",), 0.08, 0.0),
    _Operator("CSN", "China", 8, 1.0, ("CAN",), 0.08, 0.0),
    _Operator("ANA", "Japan", 9, 0.8, ("HND", "NRT"), 0.1, 0.0),
    _Operator("JAL", "Japan", 9, 0.7, ("HND", "NRT"), 0.1, 0.0),
    _Operator("KAL", "Republic of Korea", 9, 0.6, ("ICN",), 0.2, 0.0),
    _Operator("SIA", "Singapore", 8, 0.6, ("SIN",), 0.4, 0.0),
    _Operator("AIC", "India", 5.5, 0.6, ("DEL", "BOM"), 0.1, 0.0),
    _Operator("IGO", "India", 5.5, 1.0, ("DEL", "BOM"), 0.0, 0.0),
    _Operator("UAE", "United Arab Emirates", 4, 1.0, ("DXB",), 0.6, 0.0),
    _Operator("QTR", "Qatar", 3, 0.8, ("DOH",), 0.6, 0.0),
    _Operator("QFA", "Australia", 10, 0.6, ("SYD", "MEL"), 0.15, 0.0),
    # light aircraft, flying under their registration
    _Operator("", "United States", -6, 5.0, ("KVNY", "KFRG", "KAPA"), registration="N"),
    _Operator("", "Germany", 1, 1.5, ("EDDS", "MUC"), registration="DE"),
    _Operator("", "United Kingdom", 0, 1.0, ("EGTK",), registration="G"),
    _Operator("", "France", 1, 1.0, ("LFPN",), registration="F"),
)

# Departures per local hour of the day (relative): quiet nights, morning and evening banks.
# fmt: off
_LOCAL_PROFILE = np.array([
    0.12, 0.06, 0.03, 0.03, 0.05, 0.30, 0.85, 1.25, 1.30, 1.20, 1.10, 1.10,
    1.10, 1.10, 1.10, 1.15, 1.20, 1.25, 1.20, 1.10, 0.90, 0.65, 0.40, 0.22,
])
_LIGHT_PROFILE = np.array([
    0.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.30, 0.80, 1.20, 1.40, 1.50, 1.50,
    1.50, 1.50, 1.40, 1.30, 1.20, 1.00, 0.70, 0.40, 0.15, 0.05, 0.0, 0.0,
])
# fmt: on
_WEEKDAY_FACTOR = (1.0, 1.0, 1.0, 1.0, 1.02, 0.75, 0.80)  # Monday .. Sunday
_DAY_NOISE_SD = 0.015  # day-to-day noise (clipped at +-3.5%)

_EARTH_RADIUS_M = 6_371_000.0
_FT25 = 7.62  # altitudes come in 25 ft steps
_U64 = np.uint64


class _Fleet:
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
            aircraft = self._new(_OPERATORS[op_index])
        heapq.heappush(heap, (ready_at, aircraft))
        return aircraft

    def _new(self, op: _Operator) -> int:
        lo, hi = _ADDRESS_BLOCKS[op.country]
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


def _flight_numbers(op: _Operator, rng: np.random.Generator, count: int) -> np.ndarray:
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


class _Flights:
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
    def concat(parts: list[_Flights]) -> _Flights:
        return _Flights(**{k: np.concatenate([p.columns[k] for p in parts]) for k in parts[0].columns})

    def take(self, index: np.ndarray) -> _Flights:
        return _Flights(**{k: v[index] for k, v in self.columns.items()})


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x ^ (x >> _U64(30))
    x = x * _U64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> _U64(27))
    x = x * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


class _Simulator:
    def __init__(self, *, seed: int, flights_per_weekday: int, poll: int) -> None:
        self.seed = seed
        self.base = flights_per_weekday
        self.poll = poll
        self.fleet = _Fleet(np.random.default_rng([seed, 1]))
        self.flights: dict[date, _Flights] = {}
        weights = np.array([op.weight for op in _OPERATORS])
        self.op_share = weights / weights.sum()

    # deterministic per-state randomness: a hash of (flight, snapshot, purpose)
    def _uniform(self, uid: np.ndarray, key: np.ndarray, salt: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            x = uid.astype(_U64) * _U64(0x9E3779B97F4A7C15)
            x = x ^ (key.astype(_U64) * _U64(0xC2B2AE3D27D4EB4F))
            x = x ^ _U64((self.seed * 0x100000001B3 + salt * 0x2545F4914F6CDD1D) % 2**64)
            x = _mix64(x)
        return (x >> _U64(11)).astype(np.float64) * (1.0 / 2**53)

    # --- the day's departures ---------------------------------------------------------------------
    def day_flight_count(self, day: date) -> int:
        rng = np.random.default_rng([self.seed, day.toordinal(), 2])
        noise = float(np.clip(rng.normal(0.0, _DAY_NOISE_SD), -0.035, 0.035))
        return max(1, round(self.base * _WEEKDAY_FACTOR[day.weekday()] * (1 + noise)))

    def schedule_day(self, day: date) -> None:
        rng = np.random.default_rng([self.seed, day.toordinal(), 0])
        total = self.day_flight_count(day)
        per_op = rng.multinomial(total, self.op_share)
        day0 = _day_start_unix(day)
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
        for op_index, (op, count) in enumerate(zip(_OPERATORS, per_op, strict=True)):
            if count == 0:
                continue
            light = bool(op.registration)
            profile = _LIGHT_PROFILE if light else _LOCAL_PROFILE
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
            hubs = np.array([_HUBS[h] for h in op.hubs])
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
            parts["geo_off"].append(rng.integers(-10, 30, count) * _FT25)
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
            op = _OPERATORS[op_index]
            if cols["no_callsign"][i]:
                callsign[i] = None
            elif op.registration:
                callsign[i] = self.fleet.registration[aircraft[i]]
            else:
                callsign[i] = op.code + cols["flight_no"][i]
        cols["aircraft"] = aircraft
        cols["callsign"] = callsign
        self.flights[day] = _Flights(**cols)

    def forget_before(self, day: date) -> None:
        for old in [d for d in self.flights if d < day]:
            del self.flights[old]

    # --- the day's snapshots -------------------------------------------------------------------------
    def snapshot_times(self, day: date) -> np.ndarray:
        rng = np.random.default_rng([self.seed, day.toordinal(), 3])
        count = (86_400 - 60) // self.poll + 1
        offset = int(rng.integers(15, 45))  # first poll 15-44 s into the day
        jitter = rng.integers(0, 5, count)  # and a few seconds of scheduling jitter each
        return _day_start_unix(day) + offset + np.arange(count, dtype=np.int64) * self.poll + jitter

    def write_raw_day(self, raw_root: Path, day: date) -> tuple[int, int]:
        """Write every snapshot object of the day; returns (objects, states)."""
        times = self.snapshot_times(day)
        day0 = _day_start_unix(day)
        flights = _Flights.concat([self.flights[d] for d in sorted(self.flights) if d <= day])
        flights = flights.take(np.flatnonzero((flights.arr >= times[0]) & (flights.dep <= times[-1])))
        # (flight, snapshot) pairs: a flight is in every snapshot from its departure to its arrival
        first = np.searchsorted(times, flights.dep, side="left")
        last = np.searchsorted(times, flights.arr, side="right") - 1
        counts = np.maximum(last - first + 1, 0)
        f_idx = np.repeat(np.arange(flights.n), counts)
        starts = np.cumsum(counts) - counts
        j_idx = first[f_idx] + (np.arange(len(f_idx)) - starts[f_idx])
        order = np.argsort(j_idx, kind="stable")
        f_idx, j_idx = f_idx[order], j_idx[order]
        bounds = np.searchsorted(j_idx, np.arange(len(times) + 1), side="left")

        text = _FlightText(flights, self.fleet)
        gz_draw = np.random.default_rng([self.seed, day.toordinal(), 4]).random(len(times))
        # chunks of whole snapshots, about 250k states each
        chunk_starts = [0]
        for j in range(1, len(times)):
            if bounds[j] - bounds[chunk_starts[-1]] >= 250_000:
                chunk_starts.append(j)
        chunk_starts.append(len(times))
        made_dirs: set[Path] = set()
        # compression and writing run in threads (zlib and file I/O release the GIL) while the next
        # chunk is simulated; at most two chunks are in flight
        with ThreadPoolExecutor(max_workers=2) as pool:
            in_flight: list[Future] = []
            for a, b in itertools.pairwise(chunk_starts):
                lo, hi = bounds[a], bounds[b]
                data, offsets = self._state_rows(flights, text, f_idx[lo:hi], j_idx[lo:hi], times, day)
                view = memoryview(data)
                submitted = []
                for j in range(a, b):
                    unix = int(times[j])
                    s, e = bounds[j] - lo, bounds[j + 1] - lo
                    if e > s:
                        states = view[offsets[s] : offsets[e] - 1]  # without the last row's comma
                        body = b"".join((b'{"time":%d,"states":[' % unix, states, b"]}"))
                    else:
                        body = b'{"time":%d,"states":null}' % unix
                    gz = bool(gz_draw[j] < 0.5)
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
        return len(times), len(f_idx)

    def _state_rows(
        self, fl: _Flights, text: _FlightText, f: np.ndarray, j: np.ndarray, times: np.ndarray, day: date
    ) -> tuple[Any, np.ndarray]:
        """The JSON text of the states of pairs (f, j), each row `[...],`; returns (bytes, offsets)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        uid = fl.uid[f]
        dep, arr = fl.dep[f], fl.arr[f]
        day0 = _day_start_unix(day)
        key = np.int64(day.toordinal()) * 4096 + j
        # now and then a state is repeated unchanged from the previous snapshot (odd snapshots only,
        # so a repeated state is never itself a repeat)
        prev = np.maximum(j - 1, 0)
        repeat = (j % 2 == 1) & (times[prev] >= dep) & (self._uniform(uid, key, 1) < 0.03)
        je = j - repeat.astype(np.int64)
        key = np.int64(day.toordinal()) * 4096 + je
        u = [self._uniform(uid, key, salt) for salt in range(10, 24)]

        lag = np.floor(u[0] * 10).astype(np.int64)  # last contact 0-9 s before the snapshot
        last_contact = np.maximum(times[je] - lag, dep)
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
        wobble = np.where(cruising, np.floor(u[3] * 3) - 1, 0.0) * _FT25
        baro = np.round(np.round(alt / _FT25) * _FT25 + wobble, 2)
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


def _write_object(path: Path, body: bytes, gz: bool) -> None:
    path.write_bytes(gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0) if gz else body)


class _FlightText:
    """Per-flight JSON fragments (quoted strings, the optional 18th field), taken per state."""

    def __init__(self, fl: _Flights, fleet: _Fleet) -> None:
        import pyarrow as pa

        aircraft = fl.aircraft
        self.icao24 = pa.array([f'"{fleet.icao24[a]}"' for a in aircraft], pa.string())
        self.country = pa.array([f'"{fleet.country[a]}"' for a in aircraft], pa.string())
        self.callsign = pa.array(["null" if c is None else f'"{c:<8}"' for c in fl.callsign], pa.string())
        self.squawk = pa.array([f'"{c:04o}"' if c >= 0 else "null" for c in fl.squawk_code], pa.string())
        self.category = pa.array(
            ["" if fleet.category[a] < 0 else f",{fleet.category[a]}" for a in aircraft], pa.string()
        )


# --- planting faults ----------------------------------------------------------------------------------


class _Planter:
    def __init__(self, root: Path, day: date, seed: int, catalog: LocalCatalog) -> None:
        self.root = Path(root)
        self.day = day
        self.dt = str(day)
        self.seed = seed
        self.catalog = catalog
        self.folder = _partition_folder(root, day)
        self.rows_after = 0

    def plant(self, name: str) -> PlantedFault:
        self.rng = np.random.default_rng([self.seed, self.day.toordinal(), 100 + FAULTS.index(name)])
        return getattr(self, f"_{name}")()

    def _fault(self, name: str, dataset: str, check: str, severity: str | None, detail: str) -> PlantedFault:
        return PlantedFault(name, self.dt, dataset, check, severity, detail)

    # --- files ---------------------------------------------------------------------------------------
    def _file(self) -> Path:
        files = sorted(self.folder.glob("*.parquet"))
        if len(files) != 1:
            raise RuntimeError(f"expected one Parquet file in {self.folder}, found {len(files)}")
        return files[0]

    def _read(self) -> pa.Table:
        import pyarrow.parquet as pq

        table = pq.ParquetFile(self._file()).read()
        self.rows_after = table.num_rows
        return table

    def _write(self, table: pa.Table) -> None:
        import pyarrow.parquet as pq

        path = self._file()
        meta = pq.ParquetFile(path).metadata
        compression = meta.row_group(0).column(0).compression.lower() if meta.num_row_groups else "snappy"
        tmp = path.with_name(path.name + ".tmp")
        pq.write_table(table, tmp, compression=compression)
        tmp.replace(path)
        self.rows_after = table.num_rows

    def _delete_raw_hours(self, hours: list[int]) -> int:
        deleted = 0
        for hour in hours:
            folder = self.root / RAW_BUCKET / layout.raw_hour_prefix(self.day, hour)
            if folder.is_dir():
                deleted += sum(1 for p in folder.iterdir() if p.is_file())
                shutil.rmtree(folder)
        return deleted

    def _rebuild(self) -> tuple[int, int]:
        before = self._read().num_rows
        outcome = _run_etl(self.root, self.day)
        self.rows_after = int(outcome.rows)
        return before, self.rows_after

    # --- processed partition presence ------------------------------------------------------------------
    def _missing_partition(self) -> PlantedFault:
        rows = self._read().num_rows
        shutil.rmtree(self.folder)
        self.catalog.unregister(PROCESSED_TABLE, self.dt)
        self.rows_after = 0
        return self._fault(
            "missing_partition",
            PROCESSED_DATASET,
            PARTITION_PRESENCE,
            "P1",
            f"partition folder deleted ({rows} rows) and unregistered; raw intact",
        )

    def _unregistered_partition(self) -> PlantedFault:
        rows = self._read().num_rows
        self.catalog.unregister(PROCESSED_TABLE, self.dt)
        return self._fault(
            "unregistered_partition",
            PROCESSED_DATASET,
            PARTITION_PRESENCE,
            "P1",
            f"partition files present ({rows} rows) but not registered in the catalog",
        )

    def _empty_partition(self) -> PlantedFault:
        removed = 0
        for path in sorted(self.folder.iterdir()):
            path.unlink()
            removed += 1
        self.rows_after = 0
        return self._fault(
            "empty_partition",
            PROCESSED_DATASET,
            PARTITION_PRESENCE,
            "P1",
            f"registered, folder kept, its {removed} file(s) deleted",
        )

    def _zero_rows_partition(self) -> PlantedFault:
        table = self._read()
        self._write(table.slice(0, 0))
        return self._fault(
            "zero_rows_partition",
            PROCESSED_DATASET,
            PARTITION_PRESENCE,
            "P1",
            "registered, one Parquet file with the contract schema and 0 rows",
        )

    # --- raw data loss --------------------------------------------------------------------------------
    def _missing_raw_hours(self) -> PlantedFault:
        deleted = self._delete_raw_hours(list(MISSING_RAW_HOURS))
        before, after = self._rebuild()
        hours = f"{MISSING_RAW_HOURS[0]:02d}-{MISSING_RAW_HOURS[-1]:02d}"
        return self._fault(
            "missing_raw_hours",
            RAW_DATASET,
            PARTITION_PRESENCE,
            "P0",
            f"raw hours {hours} UTC deleted ({deleted} objects): data loss; processed rebuilt "
            f"from the rest by the ETL ({before} -> {after} rows)",
        )

    def _stops_early(self) -> PlantedFault:
        hours = list(range(STOPS_EARLY_HOUR, 24))
        deleted = self._delete_raw_hours(hours)
        before, after = self._rebuild()
        drop = 1 - after / before if before else 0.0
        return self._fault(
            "stops_early",
            PROCESSED_DATASET,
            FRESHNESS,
            "P1",
            f"raw snapshots from {STOPS_EARLY_HOUR:02d}:00 UTC on deleted ({deleted} objects), processed "
            f"rebuilt ({before} -> {after} rows, -{drop:.0%}): the data stops {24 - STOPS_EARLY_HOUR} h "
            f"before the end of the day, so also freshness on flightdata_raw P1, partition_presence on "
            f"flightdata_raw P0 (hours {STOPS_EARLY_HOUR:02d}-23 missing) and a record_count_drift drop",
        )

    # --- row counts -----------------------------------------------------------------------------------
    def _record_count_drop(self) -> PlantedFault:
        table = self._read()
        n = table.num_rows
        removed = round(RECORD_DROP_RATIO * n)
        keep = np.sort(self.rng.choice(n, n - removed, replace=False))
        self._write(table.take(keep))
        return self._fault(
            "record_count_drop",
            PROCESSED_DATASET,
            RECORD_COUNT_DRIFT,
            _drift_severity(RECORD_DROP_RATIO),
            f"{removed} of {n} processed rows removed ({removed / n:.1%}); raw intact",
        )

    # --- schema and rows ------------------------------------------------------------------------------
    def _invalid_rows_minor(self) -> PlantedFault:
        k = max(1, math.floor(INVALID_MINOR_RATIO * self._count()))
        return self._invalid_rows("invalid_rows_minor", k)

    def _invalid_rows_major(self) -> PlantedFault:
        return self._invalid_rows("invalid_rows_major", max(1, round(INVALID_MAJOR_RATIO * self._count())))

    def _count(self) -> int:
        return self._read().num_rows

    def _invalid_rows(self, name: str, k: int) -> PlantedFault:
        import pyarrow as pa

        table = self._read()
        n = table.num_rows
        k = min(k, n)
        picked = np.sort(self.rng.choice(n, k, replace=False))
        rules = ("callsign", "first_latitude", "squawk", "max_velocity")
        cols = {c: table.column(c).to_pylist() for c in rules}
        broken: dict[str, int] = {}
        for i, row in enumerate(picked):
            for step in range(len(rules)):
                rule = rules[(i + step) % len(rules)]
                if rule in ("callsign", "squawk") and cols[rule][row] is None:
                    continue  # needs a value to break
                break
            if rule == "callsign":
                cols[rule][row] = cols[rule][row].lower()
            elif rule == "first_latitude":
                cols[rule][row] = 123.0
            elif rule == "squawk":
                cols[rule][row] = "9999"
            else:
                cols[rule][row] = -5.0
            broken[rule] = broken.get(rule, 0) + 1
        for name_, values in cols.items():
            index = table.schema.get_field_index(name_)
            fld = table.schema.field(index)
            table = table.set_column(index, fld, pa.array(values, type=fld.type))
        self._write(table)
        ratio = k / n
        severity = _row_severity(ratio)
        what = {
            "callsign": "callsign lowercase",
            "first_latitude": "first_latitude 123.0",
            "squawk": "squawk '9999'",
            "max_velocity": "max_velocity -5.0",
        }
        detail = (
            f"{k} of {n} rows ({ratio:.2%}) break one row rule each: "
            + ", ".join(f"{broken[r]} {what[r]}" for r in rules if r in broken)
            + ("; under 1%, so schema_validity should pass" if severity is None else "")
        )
        return self._fault(name, PROCESSED_DATASET, SCHEMA_VALIDITY, severity, detail)

    def _renamed_column(self) -> PlantedFault:
        table = self._read()
        self._write(table.rename_columns(["call_sign" if c == "callsign" else c for c in table.column_names]))
        return self._fault(
            "renamed_column",
            PROCESSED_DATASET,
            SCHEMA_VALIDITY,
            "P1",
            "column callsign renamed to call_sign in the Parquet file",
        )

    def _retyped_column(self) -> PlantedFault:
        import pyarrow as pa
        import pyarrow.compute as pc

        table = self._read()
        index = table.schema.get_field_index("position_count")
        fld = table.schema.field(index)
        values = pc.cast(table.column(index), pa.float64())
        table = table.set_column(index, fld.with_type(pa.float64()), values)
        self._write(table)
        return self._fault(
            "retyped_column",
            PROCESSED_DATASET,
            SCHEMA_VALIDITY,
            "P1",
            "column position_count written as double instead of bigint",
        )

    def _duplicate_flight_ids(self) -> PlantedFault:
        table = self._read()
        n = table.num_rows
        k = max(1, round(DUPLICATE_RATIO * n))
        copies = self.rng.choice(n, k, replace=False)
        self._write(table.take(np.sort(np.concatenate([np.arange(n), copies]), kind="stable")))
        ratio = k / (n + k)
        return self._fault(
            "duplicate_flight_ids",
            PROCESSED_DATASET,
            DUPLICATES,
            _duplicates_severity(ratio),
            f"{k} row(s) duplicated (same flight_id): {k} extra of {n + k} rows ({ratio:.2%})",
        )


def _policy() -> Policy:  # the contract's defaults
    from flightdq.core.config import Policy

    return Policy()


def _drift_severity(drop: float) -> str | None:
    p = _policy().record_count_drift
    if drop > p.drop_severe_ratio:
        return str(p.drop_severe_severity)
    return str(p.drop_fail_severity) if drop > p.drop_fail_ratio else None


def _row_severity(ratio: float) -> str | None:
    p = _policy().schema_validity
    if ratio > p.row_severe_ratio:
        return str(p.row_severe_severity)
    return str(p.row_fail_severity) if ratio > p.row_fail_ratio else None


def _duplicates_severity(ratio: float) -> str:
    p = _policy().duplicates
    return str(p.ratio_severity if ratio > p.ratio else p.any_severity)


__all__ = [
    "FAULTS",
    "SIZES",
    "LakeManifest",
    "PlantedFault",
    "default_demo_faults",
    "generate_lake",
]
