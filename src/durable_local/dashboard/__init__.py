"""`durable dashboard`: a browser UI over the Durable HTTP API of any app (the local host or a deployed one).

The server (aiohttp) holds the system key and renders pages (Jinja2); the browser gets HTML and htmx only.
See docs/dashboard.md.
"""
