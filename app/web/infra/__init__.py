"""What every area of the site shares: `settings` (GILLAB_ variables), `templating` (the Jinja2
environment), `errors` (4xx pages and JSON), `security` (headers, embedding), `page_cache`,
`limits` (live event streams), `assets` (templates, static files, pinned scripts), `api_docs`
(/docs offline), `health` (/healthz) and `sitemap` (the app's routes, for tests and benchmarks)."""
