"""`reconciler ui`: a web dashboard over one project and workspace.

`cli.py` the command (registered by reconciler/cli.py), `security.py` who may ask what,
`jobs.py` plans and applies run in the background with their events fanned out to
server-sent events, `views.py` what each page shows, `layout.py` the plan graph as an
SVG laid out here, `app.py` the Starlette routes; `templates/` and `static/` are served
as they are (no build step, nothing fetched from the internet).
"""
