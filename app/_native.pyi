# Type stub for the cffi extension built from native/race.c (see native/build.py).
# Only app/lab/native.py imports it.
from typing import Any

ffi: Any
lib: Any
