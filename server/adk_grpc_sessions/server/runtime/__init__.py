"""The process: serving (start, drain, stop) and what it runs with.

The one settings table, authentication, TLS, health, metrics, tracing and logs.
"""
