"""The ``adk-grpc-sessions`` command line: ``main`` wires the arguments; each command has its own module."""
