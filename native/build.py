"""The cffi build script: `setup.py` names `native/build.py:ffibuilder`, so pip compiles
`app._native` (API, out-of-line mode) whenever the package is installed or a wheel is built.

The cdef is the header's public part only; everything else in race.c stays private.
"""

from __future__ import annotations

from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent

CDEF = """
typedef struct race_params {
    int experiment;
    int mode;
    long iterations;
    int real_free;
    long record_calls;
} race_params;

typedef struct race_result {
    long final_rc;
    long increments;
    long decrements;
    long failed_checks;
    long frees;
    long use_after_free;
    long double_free;
    long long elapsed_ns;
    long window_rc;
    long recorded_a;
    long recorded_b;
    int read_freed;
    long freed_value;
} race_result;

#define RACE_READS_PER_CALL 3

int race_run(const race_params *params, race_result *result, long *record_a, long *record_b);
int race_run_in_child(const race_params *params, race_result *result, char *message,
                      size_t message_size, int timeout_ms);
double race_cost(int mode, int layout, long iterations);
"""

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
