"""The GIL lab and the versions pages: real Python threads measured in fresh interpreters.

`routes` (/gil and its panels, /api/gil/...), `models` (the JSON shapes) and `charts` (SVG
geometry of measured timelines); `versions` (/versions, /api/versions/race, /api/gil/convoy,
/api/interpreters: the same experiments on every CPython at hand) and `version_charts`.
"""
