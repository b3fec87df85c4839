"""The system Chromium the browser tests, the deploy tests and the benchmarks launch, and the
flags they launch it with: one definition, so a flag the closed network needs reaches all.

`GILLAB_CHROMIUM` names another binary.
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("GILLAB_CHROMIUM", "/usr/bin/chromium"))

# Without the background-networking flags Chromium keeps calling its vendor's servers, which
# this closed network refuses (see TECH-NOTES).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
