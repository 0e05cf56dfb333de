"""Development tools, not shipped behaviour: the sample-lake generator, the local AWS emulator,
the benchmark and the demo. `flightdq` never imports this package.

May import: anything of `flightdq`.
"""

from pathlib import Path

# The repository's root, for the tools that work on it (bench parses `dags/`, demo writes `artifacts/`).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
