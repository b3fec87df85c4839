"""The web layer: thin FastAPI routers over the pure core (app.sim) and the labs (app.lab)."""
