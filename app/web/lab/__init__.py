"""The native lab: the reference-count races in real C on real cores, through cffi (`routes`:
/lab, /lab/cost, /api/native/race, /api/native/cost, /stream/native/race)."""
