"""What pyproject.toml cannot say: the cffi modules, the seed's programs, and the package list.

templates/ and static/ sit at the top of the checkout but ship as app.templates and app.static
(pyproject.toml's package-dir). setuptools' `find` directive only sees folders under their own
names, so it never listed them and the wheel shipped without pages or assets; the list is
computed here instead, every subfolder included, so new folders ship without editing anything.

`build_seed` compiles the seed's first program (native/seed.c) at -O0 and -O2 into app/lab/_seed
with the disassembly of its loop (native/seed_build.py): a build step, because the Docker
image that serves the lab has no compiler. It is one of `build`'s sub-commands, so a wheel and
an editable install both run it (an editable install writes into the checkout, as setuptools'
editable mode asks of build sub-commands).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import ClassVar

from setuptools import Command, find_namespace_packages, find_packages, setup
from setuptools.command.build import build

SEED_PACKAGE_DIR = Path("app") / "lab" / "_seed"


def _data_packages(folder: str, package: str) -> list[str]:
    return [package, *(f"{package}.{sub}" for sub in find_namespace_packages(where=folder))]


class build_seed(Command):  # setuptools names its commands in lower case
    description = "compile the seed's first program at -O0 and -O2 and disassemble its loop"
    user_options: ClassVar[list[tuple[str, str | None, str]]] = []

    def initialize_options(self) -> None:
        self.build_lib: str | None = None
        self.editable_mode = False
        self._written: list[str] = []

    def finalize_options(self) -> None:
        self.set_undefined_options("build_py", ("build_lib", "build_lib"))

    def _target(self) -> Path:
        if self.editable_mode or self.build_lib is None:
            return SEED_PACKAGE_DIR
        return Path(self.build_lib) / SEED_PACKAGE_DIR

    def run(self) -> None:
        spec = importlib.util.spec_from_file_location("seed_build", "native/seed_build.py")
        assert spec is not None and spec.loader is not None
        seed_build = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(seed_build)
        self._written = [str(path) for path in seed_build.build(self._target())]

    def get_outputs(self) -> list[str]:
        return self._written

    def get_output_mapping(self) -> dict[str, str]:
        return {}

    def get_source_files(self) -> list[str]:
        return ["native/seed.c", "native/seed_build.py"]


build.sub_commands.append(("build_seed", None))

setup(
    packages=[
        *find_packages(include=["app", "app.*"]),
        *_data_packages("templates", "app.templates"),
        *_data_packages("static", "app.static"),
    ],
    cffi_modules=["native/build.py:ffibuilder"],
    cmdclass={"build_seed": build_seed},
)
