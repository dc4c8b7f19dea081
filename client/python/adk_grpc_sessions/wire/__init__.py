"""What both ends of the wire share: exact conversions of the contract's types, and its limits.

Nothing here imports google-adk or any storage library, so the server and
every client can use it.
"""
