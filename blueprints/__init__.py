"""Blueprints of the instance-management function app, one module per concern.

Public modules hold functions (`starters`, `queries`, `control`, `housekeeping`, `payloads`,
`orchestrations`); private `_` modules hold the helpers they share. `function_app.py` registers them.
"""
