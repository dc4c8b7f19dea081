"""The gRPC API: the ``SessionService`` servicer and the one append core it adapts.

Also what serving a call needs: request checks, wire encoding, page tokens,
and the one map from failures to statuses.
"""
