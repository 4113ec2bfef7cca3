"""`gate serve`: the deployment threshold as a GitHub custom deployment protection rule (docs/server.md).

app.py (the aiohttp server, workers, shutdown), webhook.py (signature, deliveries, payload), github_app.py
(App JWT, installation tokens, REST client), sources.py (default-branch rules, the evidence artifact),
decide.py (one decision and its answer), engine.py (the warm, supervised engine), metrics.py, config.py.
"""
