"""Live classes: a teacher drives one run on every student's screen and the class predicts it.

What this package models: a class (a join code, a teacher's secret token, what the class is
looking at: a /sim or /challenges permalink), its members (a display name and a secret token
each), the questions the teacher opens (the predict-mode question of `app.sim.predict` for the
state on screen), the members' answers and running scores, and the runs they hand in for an
assigned challenge. It is state that outlives a request and is shared by every worker process
(and, with Redis, every machine) that serves the class, so it lives behind a small storage
interface (`store.Store`) with one implementation per backend: SQLite (`sqlite_store`, one file,
the default) and Redis (`redis_store`). `classes.LiveClasses` holds the rules and calls the store;
the web layer (`app.web.live`) only parses, authenticates and shapes.

Left out on purpose: accounts (the tokens are the only credentials, stored only as hashes),
history (a class's data is deleted when it ends: closed by the teacher, or idle for 6 hours).

Invariants a change must keep:
- every bound (members, classes, answers per second, failed look-ups, name length) is checked
  by the store atomically, so it holds with any number of processes;
- an answer counts once per member and question (the last choice before the question closes);
- nothing a member sends is rendered as markup: names travel as JSON strings and are shown with
  textContent or Jinja2's autoescape.
"""
