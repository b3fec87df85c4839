"""What pyproject.toml cannot say: the cffi modules, and the package list.

templates/ and static/ sit at the top of the checkout but ship as app.templates and app.static
(pyproject.toml's package-dir). setuptools' `find` directive only sees folders under their own
names, so it never listed them and the wheel shipped without pages or assets; the list is
computed here instead, every subfolder included, so new folders ship without editing anything.
"""

from setuptools import find_namespace_packages, find_packages, setup


def _data_packages(folder: str, package: str) -> list[str]:
    return [package, *(f"{package}.{sub}" for sub in find_namespace_packages(where=folder))]


setup(
    packages=[
        *find_packages(include=["app", "app.*"]),
        *_data_packages("templates", "app.templates"),
        *_data_packages("static", "app.static"),
    ],
    cffi_modules=["native/build.py:ffibuilder"],
)
