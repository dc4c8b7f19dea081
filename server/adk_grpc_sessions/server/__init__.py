"""The adk-grpc-sessions server: servicer, backends, configuration and CLI.

This package never imports google-adk: the server handles events as JSON text
and state values as JSON text, exactly as they travel on the wire.
"""
