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

Templates follow the same names under templates/, tests under tests/web/ (those of `infra` in
tests/web/infra/, of `live` in tests/web/live/).
"""
