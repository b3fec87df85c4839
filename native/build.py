"""The cffi build script: `setup.py` names `native/build.py:ffibuilder`, so pip compiles
`app._native` (API, out-of-line mode) whenever the package is installed or a wheel is built.

The cdef is race.h itself (its enums, constants, structs and functions); everything else in
race.c stays private.
"""

from __future__ import annotations

import re
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent


def public_declarations(header: str) -> str:
    """race.h as cffi's cdef: the header is the one statement of the interface (its enums,
    constants, structs and functions), so nothing here can drift from it. cdef takes no
    preprocessor lines but integer `#define`s; the include guard and includes go."""
    kept = [
        line
        for line in header.splitlines()
        if not line.startswith("#") or re.fullmatch(r"#define \w+ \d+", line.strip())
    ]
    return "\n".join(kept)


CDEF = public_declarations((HERE / "race.h").read_text())

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "app._native",
    '#include "race.h"',
    # Relative paths: setuptools refuses absolute source paths in a build.
    sources=[str(Path("native") / "race.c")],
    include_dirs=["native"],
    extra_compile_args=["-O2", "-pthread", "-std=c11"],
    extra_link_args=["-pthread"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
