"""A sample-lake generator: realistic OpenSky snapshots, the ETL's processed partitions, planted faults.

`generate_lake(root, end=..., days=...)` writes a local lake laid out exactly like the buckets
(contract section 1):

1. raw snapshot objects `<root>/flightdata-raw/year=/month=/day=/hour=/states_<unix>.json[.gz]`, one per
   poll, each the body of an OpenSky `GET /states/all` response (`snapshots`, from the flights of
   `traffic` in the world of `world`);
2. each day's processed partition, made by `flightdq.recovery.publish.rebuild_local` from those raw objects,
   so the processed data is always what the ETL makes of the raw data;
3. each partition registered in the local catalog;
4. the planted faults (`faults`), each on its day, with the evidence it must leave (`planting`);
5. `<root>/_generator/manifest.json`: what was generated and, per fault, which check should catch it
   (`manifest`).

Everything is a function of the arguments: the same arguments give byte-identical raw objects and
manifest (no wall clock, gzip mtime 0, seeded generators and counter-based hashing).
"""

from flightdq_dev.generator.faults import FAULTS, default_demo_faults
from flightdq_dev.generator.lake import SIZES, generate_lake
from flightdq_dev.generator.manifest import MANIFEST_FILE, LakeManifest, PlantedFault

__all__ = [
    "FAULTS",
    "MANIFEST_FILE",
    "SIZES",
    "LakeManifest",
    "PlantedFault",
    "default_demo_faults",
    "generate_lake",
]
