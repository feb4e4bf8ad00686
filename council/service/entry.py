"""A module-level Application with default settings, for ``serve build`` (which needs an Application).

Deploy configs point at :func:`council.service.app.build_app` with ``args`` instead (see deploy/serve.yaml).
"""

from council.service.app import build_app

app = build_app({})
