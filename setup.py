"""Package discovery, the one part of the build pyproject.toml cannot say (everything else is there).

Every package under include/ is found automatically (flightdq and its subpackages, flightdq_dev),
and the top-level expectations/ folder, where the suites are edited, becomes the data package
`flightdq.expectations`. pyproject.toml's `packages.find` cannot add a package from another folder,
and listing packages there by hand would miss every new subpackage.
"""

from setuptools import find_namespace_packages, setup

PACKAGES = ["flightdq", "flightdq.*", "flightdq_dev", "flightdq_dev.*"]

setup(
    packages=[
        *find_namespace_packages(where="include", include=PACKAGES, exclude=["*.__pycache__"]),
        "flightdq.expectations",
    ],
    package_dir={"": "include", "flightdq.expectations": "expectations"},
)
