"""The web layer: thin FastAPI routers over the pure core (app.sim) and the labs (app.lab).

One package per area of the site, each holding its routes, the views its templates render and
the models its JSON API returns:

- `sim`: the simulator, the explorer and predict mode (/sim, /explore, /stream/sim, /api/sim,
  /api/explore);
- `gil`: the GIL lab (/gil, /api/gil/...) and the same experiments across interpreters
  (/versions, /api/versions/..., /api/interpreters);
- `challenges`: play-the-scheduler challenges (/challenges, /api/challenges);
- `lab`: the native lab, real C races through cffi (/lab, /api/native/...);
- `lessons`: the lessons' text and their pages (/, /lessons/{slug});
- `live`: live classes, a teacher's run on every student's screen (/class/..., /api/classes,
  /stream/classes/...), over the rules in app.live;
- `infra`: what every area shares: settings, the template environment, errors, security
  headers, the page cache, stream limits, assets, /docs, /healthz and the route list.

Templates follow the same names under templates/, and tests the same packages under tests/web/,
named after the module they test: app/web/sim/pages.py is tested in tests/web/sim/test_pages.py,
app/web/lab/routes.py in tests/web/lab/test_routes.py. What spans a whole area keeps the area's or
the feature's name (tests/web/challenges/test_challenges.py, tests/web/sim/test_free_threaded.py);
what tests the app as a whole (compression, contrast, /healthz) sits with `infra`.
"""
