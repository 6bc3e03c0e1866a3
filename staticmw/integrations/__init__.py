"""The adapters and framework glue over one core: WSGI, ASGI (with ``pathsend``), PasteDeploy,
Flask and Django. They feed the core events and send what it decides."""
