"""``python -m adk_grpc_sessions.server.cli``: the command line, as the script runs it."""

import sys

from adk_grpc_sessions.server.cli.main import main

sys.exit(main())
