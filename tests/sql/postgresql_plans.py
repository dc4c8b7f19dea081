"""The plan PostgreSQL runs a statement with, custom or generic: for the plan tests of our hot statements."""

from __future__ import annotations

import json
from typing import Any

import asyncpg


async def analyzed_plan(
    connection: asyncpg.Connection, sql: str, parameters: tuple[Any, ...], *, generic: bool
) -> dict[str, Any]:
    """The plan of ``sql`` run once with ``parameters`` (``EXPLAIN ANALYZE``), rolled back.

    Prepared by name, so that ``plan_cache_mode`` decides between the plan
    made for these values and the generic one.
    """
    types = [parameter.name for parameter in (await connection.prepare(sql)).get_parameters()]
    literals = [
        await connection.fetchval(f"SELECT quote_nullable($1::{t})", v)
        for t, v in zip(types, parameters, strict=True)
    ]
    mode = "force_generic_plan" if generic else "force_custom_plan"
    name = f"planned_{mode}"
    transaction = connection.transaction()
    await transaction.start()
    try:
        await connection.execute(f"SET LOCAL plan_cache_mode = {mode}")
        await connection.execute(f"PREPARE {name} ({', '.join(types)}) AS {sql}")
        arguments = ", ".join(f"{literal}::{t}" for literal, t in zip(literals, types, strict=True))
        plan = await connection.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE {name} ({arguments})")
    finally:
        await transaction.rollback()
    return dict(json.loads(plan)[0])
