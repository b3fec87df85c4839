#!/bin/sh
# x = 2781; sys.getrefcount(x) at the prompt, in an imported module, and in a script, on every
# CPython under pyenv. Seen here on 3.6 to 3.13: 2, 3, 4.
# Usage: sh docs/evidence/getrefcount.sh
dir=$(mktemp -d)
printf 'import sys\nx = 2781\nprint(sys.getrefcount(x))\n' > "$dir/snippet.py"
for python in "$(pyenv root)"/versions/3.*/bin/python; do
    prompt=$(printf 'import sys\nx = 2781\nsys.getrefcount(x)\n' | "$python" -i -q 2>/dev/null)
    module=$(cd "$dir" && "$python" -B -c 'import snippet')
    script=$("$python" -B "$dir/snippet.py")
    echo "$("$python" -V): prompt $prompt, module $module, script $script"
done
rm -r "$dir"
