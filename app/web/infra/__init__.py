"""What every area of the site shares: `settings` (GILLAB_ variables), `resources` (what an app
owns: runners, caches, the template environment, limits; built by create_app, stopped by its
lifespan) and `deps` (the typed dependencies routes get them by), `templating` (the Jinja2
environment and the one render helper), `urls` (every link to a page of the site, built from
typed state), `wording` (words every page shares), `errors` (4xx pages and JSON), `security`
(headers, embedding), `framing` (/framed, where a frame without `embed=1` is sent), `head`
(HEAD on every GET route), `server` (uvicorn's protocol with a request deadline), `page_cache`,
`limits` (live event streams), `assets` (templates, static files, pinned scripts), `api_docs`
(/docs offline), `health` (/healthz) and `sitemap` (the app's routes, for tests and
benchmarks)."""
