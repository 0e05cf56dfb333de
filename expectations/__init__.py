"""The Great Expectations suites, as the data package `flightdq.expectations` once installed.

Edit the JSON files here. setup.py maps this folder to `flightdq.expectations`, so a wheel carries
them and an editable install reads them in place; `flightdq.gx_validation` loads them with
importlib.resources. This file only makes the folder a regular package (setuptools' editable
install does not find a namespace subpackage that lives outside its parent's folder).
"""
