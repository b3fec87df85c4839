"""Live classes on the web: the JSON API (/api/classes), the event stream
(/stream/classes/{code}) and the teacher's and students' pages (/class/...).

Thin: authenticate (Bearer tokens), parse, call `app.live.classes.LiveClasses`, shape.
"""
