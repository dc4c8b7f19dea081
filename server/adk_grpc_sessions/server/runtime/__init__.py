"""The process: serving (start, drain, stop) and what it runs with.

The one settings table (``config``), authentication (``auth``), TLS, files
watched for changes, health, the metrics registry, tracing, logs and the
page-token keys.
"""
