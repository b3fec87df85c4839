"""The word after an int's type pointer: ob_size up to 3.11, lv_tag from 3.12.

Usage: python docs/evidence/int_header.py   (a 64-bit CPython 3.6 or later, with the GIL)

Reads the third machine word of a few ints (after ob_refcnt and ob_type). Seen here:
3.11: 2781 -> 1, -2781 -> -1, 0 -> 0, 2**40 -> 2      (ob_size: the signed digit count)
3.12, 3.13: 2781 -> 8, -2781 -> 10, 0 -> 1, 2**40 -> 16
      (lv_tag: digits << 3 | sign, sign 0 positive, 1 zero, 2 negative)
"""

import ctypes
import sys

for value in (2781, -2781, 0, 2**40):
    third_word = (ctypes.c_ssize_t * 3).from_address(id(value))[2]
    print(sys.version.split()[0], value, third_word)
