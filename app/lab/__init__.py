"""Real experiments: C races through cffi and Python threads in fresh interpreters.

Everything here does real work on real cores; the web layer runs it through `app.lab.jobs`
so that the event loop never blocks and a crowd of students cannot queue unbounded work.
"""
