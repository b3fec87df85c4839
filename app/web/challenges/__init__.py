"""Play-the-scheduler challenges: `api` (/api/challenges, checking a schedule, the exact odds of
every goal), `pages` (/challenges and one challenge's board) and `view` (what the board shows)."""
