"""The lessons that walk the argument in order: `content` (their text and the tools each embeds)
and `pages` (/, /lessons/{slug})."""
