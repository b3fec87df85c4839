"""The C extension is declared here because pyproject.toml cannot name cffi modules."""

from setuptools import setup

setup(cffi_modules=["native/build.py:ffibuilder"])
