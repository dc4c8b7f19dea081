"""The gRPC API: the ``SessionService`` servicer and the one append core it adapts.

Also what serving a call needs: request checks, wire encoding (and the
versioned wire cache of each event's typed fields, which backends store
without reading), page tokens (which carry backends' cursors unread), and the
one map from failures to statuses.
"""
