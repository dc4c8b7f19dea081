"""The adk-grpc-sessions server: ``api`` (the gRPC service), ``runtime`` (the process), ``cli``, ``backends``.

This package never imports google-adk (but for ``cli.import_adk``, which
reads ADK's own tables): the server handles events as JSON text and state
values as JSON text, exactly as they travel on the wire.
"""
