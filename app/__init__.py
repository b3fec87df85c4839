"""GIL Lab: a visual, experimental course on what CPython's Global Interpreter Lock solves."""
