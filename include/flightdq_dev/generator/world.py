"""The traffic model's world: the operators (airlines from their hubs, and light aircraft flying
under their registration), their countries' ICAO address blocks, the hubs, and the local-time
departure profiles that give the UTC day its cycle (trough around 02-05 UTC), with Saturdays and
Sundays quieter than weekdays and a few % of seeded noise each day."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ICAO 24-bit address blocks of the countries we fly from (first, last address).
ADDRESS_BLOCKS: dict[str, tuple[int, int]] = {
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
HUBS: dict[str, tuple[float, float]] = {
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
class Operator:
    code: str  # ICAO airline designator; "" for light aircraft flying under their registration
    country: str
    utc_offset: float  # hours; departures follow the local day
    weight: float  # share of the traffic
    hubs: tuple[str, ...]
    long_haul: float = 0.0  # share of its flights lasting 5-12 h
    alnum: float = 0.0  # share of alphanumeric flight numbers (DLH4AB)
    registration: str = ""  # light aircraft: registration prefix (N, DE, G, F, ...)


OPERATORS: tuple[Operator, ...] = (
    # Europe (OpenSky's best coverage)
    Operator("DLH", "Germany", 1, 4.0, ("FRA", "MUC"), 0.12, 0.3),
    Operator("EWG", "Germany", 1, 2.0, ("DUS", "MUC", "FRA"), 0.0, 0.5),
    Operator("BAW", "United Kingdom", 0, 3.5, ("LHR", "LGW"), 0.18, 0.2),
    Operator("EZY", "United Kingdom", 0, 3.0, ("LGW", "STN"), 0.0, 0.6),
    Operator("AFR", "France", 1, 3.0, ("CDG", "ORY"), 0.15, 0.2),
    Operator("KLM", "Kingdom of the Netherlands", 1, 2.5, ("AMS",), 0.15, 0.0),
    Operator("RYR", "Ireland", 0, 5.0, ("DUB", "STN", "BCN"), 0.0, 0.5),
    Operator("SWR", "Switzerland", 1, 1.5, ("ZRH",), 0.12, 0.0),
    Operator("IBE", "Spain", 1, 1.5, ("MAD",), 0.12, 0.0),
    Operator("VLG", "Spain", 1, 2.0, ("BCN", "MAD"), 0.0, 0.0),
    Operator("ITY", "Italy", 1, 1.0, ("FCO",), 0.08, 0.0),
    Operator("THY", "Turkey", 3, 3.0, ("IST",), 0.15, 0.1),
    # North America
    Operator("AAL", "United States", -6, 5.0, ("DFW", "ORD"), 0.06, 0.0),
    Operator("DAL", "United States", -5, 5.0, ("ATL", "JFK"), 0.06, 0.0),
    Operator("UAL", "United States", -6, 4.5, ("ORD", "DEN", "SFO"), 0.08, 0.0),
    Operator("SWA", "United States", -6, 5.0, ("DEN", "MDW", "DFW"), 0.0, 0.0),
    Operator("JBU", "United States", -5, 1.5, ("JFK",), 0.0, 0.0),
    Operator("ASA", "United States", -8, 1.5, ("SEA", "LAX"), 0.0, 0.0),
    Operator("FDX", "United States", -6, 1.0, ("MEM",), 0.2, 0.0),
    Operator("UPS", "United States", -5, 0.8, ("SDF",), 0.2, 0.0),
    Operator("ACA", "Canada", -5, 1.5, ("YYZ", "YVR"), 0.12, 0.0),
    Operator("WJA", "Canada", -7, 1.0, ("YYC", "YYZ"), 0.0, 0.0),
    Operator("TAM", "Brazil", -3, 1.0, ("GRU",), 0.05, 0.0),
    # Asia, Gulf, Oceania (thinner coverage)
    Operator("CCA", "China", 8, 1.0, ("PEK",), 0.08, 0.0),
    Operator("CES", "China", 8, 1.0, ("PVG",), 0.08, 0.0),
    Operator("CSN", "China", 8, 1.0, ("CAN",), 0.08, 0.0),
    Operator("ANA", "Japan", 9, 0.8, ("HND", "NRT"), 0.1, 0.0),
    Operator("JAL", "Japan", 9, 0.7, ("HND", "NRT"), 0.1, 0.0),
    Operator("KAL", "Republic of Korea", 9, 0.6, ("ICN",), 0.2, 0.0),
    Operator("SIA", "Singapore", 8, 0.6, ("SIN",), 0.4, 0.0),
    Operator("AIC", "India", 5.5, 0.6, ("DEL", "BOM"), 0.1, 0.0),
    Operator("IGO", "India", 5.5, 1.0, ("DEL", "BOM"), 0.0, 0.0),
    Operator("UAE", "United Arab Emirates", 4, 1.0, ("DXB",), 0.6, 0.0),
    Operator("QTR", "Qatar", 3, 0.8, ("DOH",), 0.6, 0.0),
    Operator("QFA", "Australia", 10, 0.6, ("SYD", "MEL"), 0.15, 0.0),
    # light aircraft, flying under their registration
    Operator("", "United States", -6, 5.0, ("KVNY", "KFRG", "KAPA"), registration="N"),
    Operator("", "Germany", 1, 1.5, ("EDDS", "MUC"), registration="DE"),
    Operator("", "United Kingdom", 0, 1.0, ("EGTK",), registration="G"),
    Operator("", "France", 1, 1.0, ("LFPN",), registration="F"),
)

# Departures per local hour of the day (relative): quiet nights, morning and evening banks.
# fmt: off
LOCAL_PROFILE = np.array([
    0.12, 0.06, 0.03, 0.03, 0.05, 0.30, 0.85, 1.25, 1.30, 1.20, 1.10, 1.10,
    1.10, 1.10, 1.10, 1.15, 1.20, 1.25, 1.20, 1.10, 0.90, 0.65, 0.40, 0.22,
])
LIGHT_PROFILE = np.array([
    0.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.30, 0.80, 1.20, 1.40, 1.50, 1.50,
    1.50, 1.50, 1.40, 1.30, 1.20, 1.00, 0.70, 0.40, 0.15, 0.05, 0.0, 0.0,
])
# fmt: on
WEEKDAY_FACTOR = (1.0, 1.0, 1.0, 1.0, 1.02, 0.75, 0.80)  # Monday .. Sunday
DAY_NOISE_SD = 0.015  # day-to-day noise (clipped at +-3.5%)
FT25 = 7.62  # altitudes come in 25 ft steps
