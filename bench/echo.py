"""The ceiling: a bare gRPC echo pair moving the same bytes as an append, with no work at all.

Nothing a session server does can be faster than this on the same machine,
so our figures are also reported as a fraction of it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import grpc
import uvloop

from adk_grpc_sessions.client.conversions import event_json
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire.timestamps import to_timestamp
from bench.cpu import CpuMeter
from bench.workloads import Sample, model_event

METHOD = "/bench.Echo/Append"


def append_sized_payloads() -> tuple[bytes, bytes]:
    """A serialized AppendEventRequest and AppendEventResponse of the benchmark's event."""
    event = model_event(7)
    text = event_json(event)
    request = pb.AppendEventRequest(
        app_name="bench",
        user_id="append-1234abcd",
        session_id=event.id,
        event_json=text,
        expected_revision=123456,
    )
    response = pb.AppendEventResponse(
        event=pb.Event(
            id=event.id,
            invocation_id=event.invocation_id,
            author=event.author,
            timestamp=to_timestamp(event.timestamp),
            state_delta=pb.StateDelta(session={"turn": "7"}, user={"last_topic": '"release plan"'}),
            sequence=8,
            event_json=text,
        ),
        revision=123457,
        last_update_time=to_timestamp(event.timestamp),
    )
    return request.SerializeToString(), response.SerializeToString()


async def serve(address: str) -> None:
    """Runs the echo server until killed: answers each request with an append-sized response."""
    _, response = append_sized_payloads()

    async def handle(request: bytes, context: Any) -> bytes:
        return response

    server = grpc.aio.server()
    handler: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(
        handle, request_deserializer=None, response_serializer=None
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("bench.Echo", {"Append": handler}),)
    )
    server.add_insecure_port(address)
    await server.start()
    await server.wait_for_termination()


async def echo_appends(
    address: str, concurrency: int, per_writer: int, meter: CpuMeter | None = None
) -> Sample:
    """``concurrency`` writers sending ``per_writer`` append-sized requests each.

    With ``meter``, the CPU time per call of the timed part is in the sample's detail.
    """
    request, _ = append_sized_payloads()
    sample = Sample()
    async with grpc.aio.insecure_channel(address) as channel:
        call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(METHOD)
        await call(request)

        async def writer() -> None:
            for _ in range(per_writer):
                started = time.perf_counter()
                await call(request, timeout=30)
                sample.latencies.append(time.perf_counter() - started)

        before = meter.read() if meter else None
        started = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(concurrency)))
        sample.wall = time.perf_counter() - started
        if meter and before:
            sample.detail.update(meter.per_operation(before, meter.read(), len(sample.latencies)))
    return sample


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="gRPC echo server for the benchmark ceiling")
    parser.add_argument("--listen", required=True)
    uvloop.run(serve(parser.parse_args().listen))  # the loop our server runs on
    print(json.dumps({}))
