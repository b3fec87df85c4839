"""The simulator's area: the step-by-step simulator, the explorer and predict mode.

`pages` (HTML pages and the /stream/sim event stream), `api` (/api/sim, /api/explore),
`params` (the query parameters both share, and running an exploration), and the views the
templates render from the core's records: `view` (one run at one step), `explore_view` (every
interleaving, counted) and `predict_view` (predict mode's question and score), all in the
words of `wording` (statuses, ops, events, outcomes and the narration of each step).
"""
