"""Compile the seed's first program (native/seed.c) at -O0 and -O2 and disassemble its loop.

setup.py's `build_seed` command calls `build(target)` whenever the package is built (a wheel,
an editable install), so the programs and their disassembly ship inside the package: the
Docker image, which has no compiler at run time, runs the very binaries the compiler made here.
The compiler is the one that builds the C extension (`CC`, else Python's own sysconfig `CC`).

`target` receives `seed-O0`, `seed-O2` and `seed.json`:
    {"compiler": "gcc (Debian 12.2.0-14) 12.2.0", "source": "...",
     "programs": [{"opt": 0, "binary": "seed-O0", "function_asm": [...], "loop_asm": [...],
                   "loop_folded": false}, ...]}
`function_asm` is objdump's listing of `increase` (the thread function), one instruction per
item; `loop_asm` is its counting loop: from the target of the loop's backward jump to that
jump. When the compiler folded the loop away (no backward jump is left), `loop_asm` is the
whole function and `loop_folded` is true.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sysconfig
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "seed.c"
OPTIMIZATIONS = (0, 2)
FUNCTION = "increase"

# objdump -d --no-show-raw-insn: "    1192:\tmov    -0x10(%rbp),%rax"
_INSTRUCTION = re.compile(r"^\s*([0-9a-f]+):\s+(.+?)\s*$")
# a jump's target: "jle    1192 <increase+0x19>"
_JUMP = re.compile(r"^j\w+\s+([0-9a-f]+)\s+<")


def compiler() -> list[str]:
    return shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")


def _output(command: list[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def compiler_version(cc: list[str]) -> str:
    return _output([cc[0], "--version"]).splitlines()[0].strip()


def disassemble(binary: Path) -> list[tuple[int, str]]:
    """(address, instruction) of FUNCTION, as objdump prints it."""
    objdump = os.environ.get("OBJDUMP") or shutil.which("objdump")
    if objdump is None:
        raise RuntimeError("objdump (GNU binutils, which gcc needs anyway) is not installed")
    command = [objdump, "-d", "--no-show-raw-insn", f"--disassemble={FUNCTION}", str(binary)]
    listing = _output(command)
    lines = listing.splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith(f"<{FUNCTION}>:"))
    instructions = []
    for line in lines[start + 1 :]:
        match = _INSTRUCTION.match(line)
        if match is None:
            break  # the blank line after the function
        instructions.append((int(match.group(1), 16), match.group(2).replace("\t", " ")))
    return instructions


def loop_of(instructions: list[tuple[int, str]]) -> list[tuple[int, str]] | None:
    """The instructions from a backward jump's target to that jump; None if there is none."""
    for index, (address, text) in enumerate(instructions):
        jump = _JUMP.match(text)
        if jump and int(jump.group(1), 16) <= address:
            target = int(jump.group(1), 16)
            return [(a, t) for a, t in instructions[: index + 1] if a >= target]
    return None


def _lines(instructions: list[tuple[int, str]]) -> list[str]:
    return [f"{address:x}: {text}" for address, text in instructions]


def build(target: Path) -> list[Path]:
    """Compile, disassemble and describe; returns the files written."""
    target.mkdir(parents=True, exist_ok=True)
    cc = compiler()
    programs, written = [], []
    for opt in OPTIMIZATIONS:
        binary = target / f"seed-O{opt}"
        subprocess.run([*cc, f"-O{opt}", "-pthread", "-o", str(binary), str(SOURCE)], check=True)
        function = disassemble(binary)
        loop = loop_of(function)
        programs.append(
            {
                "opt": opt,
                "binary": binary.name,
                "function_asm": _lines(function),
                "loop_asm": _lines(loop if loop is not None else function),
                "loop_folded": loop is None,
            }
        )
        written.append(binary)
    description = {
        "compiler": compiler_version(cc),
        "source": SOURCE.read_text(),
        "programs": programs,
    }
    manifest = target / "seed.json"
    manifest.write_text(json.dumps(description, indent=1) + "\n")
    return [*written, manifest]


if __name__ == "__main__":
    for path in build(HERE.parent / "app" / "lab" / "_seed"):
        print(path)
