"""``GroupCommit``, the queue that stores concurrent appends in shared transactions, on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from adk_grpc_sessions.server.backends.sql.batching import GroupCommit, Outcome

Request = tuple[str, int]
"""(key, number): the key groups requests, the number tells them apart."""


class Store:
    """Records each batch it is given; each batch waits for ``release`` while ``hold`` is set."""

    def __init__(self, answer: Callable[[Request], Outcome[str]] | None = None) -> None:
        self.batches: list[list[Request]] = []
        self.hold = asyncio.Event()
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.answer = answer or (lambda request: f"{request[0]}-{request[1]}")

    async def __call__(self, batch: list[Request]) -> list[Outcome[str]]:
        self.batches.append(batch)
        self.started.set()
        if self.hold.is_set():
            await self.release.wait()
        return [self.answer(request) for request in batch]


def group_commit(
    store: Store, *, writers: int = 1, max_batch: int = 64, threshold: int = 1
) -> GroupCommit[Request, str]:
    return GroupCommit(
        store,
        keys=lambda request: (request[0],),
        writers=writers,
        max_batch=max_batch,
        parallel_threshold=threshold,
    )


async def test_a_lone_request_is_stored_at_once_in_a_batch_of_its_own() -> None:
    store = Store()
    commit = group_commit(store)
    assert await asyncio.wait_for(commit.submit(("a", 1)), timeout=1) == "a-1"
    assert store.batches == [[("a", 1)]]
    await commit.close()


async def test_requests_arriving_while_a_batch_is_stored_share_the_next_batch() -> None:
    store = Store()
    store.hold.set()
    commit = group_commit(store)
    first = asyncio.create_task(commit.submit(("a", 1)))
    await store.started.wait()
    later = [asyncio.create_task(commit.submit((key, 1))) for key in "bcd"]
    await asyncio.sleep(0.01)
    store.release.set()
    assert await asyncio.gather(first, *later) == ["a-1", "b-1", "c-1", "d-1"]
    assert store.batches == [[("a", 1)], [("b", 1), ("c", 1), ("d", 1)]]
    await commit.close()


async def test_requests_submitted_together_form_one_batch() -> None:
    store = Store()
    commit = group_commit(store)
    answers = await asyncio.gather(*(commit.submit((f"k{n}", n)) for n in range(5)))
    assert answers == [f"k{n}-{n}" for n in range(5)]
    assert [len(batch) for batch in store.batches] == [5]
    await commit.close()


async def test_a_batch_never_holds_two_requests_of_one_key_and_keeps_their_order() -> None:
    store = Store()
    commit = group_commit(store)
    requests = [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2)]
    await asyncio.gather(*(commit.submit(request) for request in requests))
    assert store.batches == [[("a", 1), ("b", 1)], [("a", 2), ("b", 2)], [("a", 3)]]
    await commit.close()


async def test_two_writers_never_store_one_key_at_the_same_time() -> None:
    store = Store()
    store.hold.set()
    commit = group_commit(store, writers=2)
    first = asyncio.create_task(commit.submit(("a", 1)))
    await store.started.wait()
    second = asyncio.create_task(commit.submit(("a", 2)))
    await asyncio.sleep(0.01)
    assert store.batches == [[("a", 1)]], "the second writer left the busy key alone"
    store.release.set()
    assert list(await asyncio.gather(first, second)) == ["a-1", "a-2"]
    await commit.close()


async def test_a_batch_holds_at_most_max_batch_requests() -> None:
    store = Store()
    commit = group_commit(store, max_batch=4)
    await asyncio.gather(*(commit.submit((f"k{n}", n)) for n in range(10)))
    assert [len(batch) for batch in store.batches] == [4, 4, 2]
    await commit.close()


async def test_a_second_batch_starts_during_another_only_once_enough_requests_wait() -> None:
    store = Store()
    store.hold.set()
    commit = group_commit(store, writers=2, threshold=3)
    first = asyncio.create_task(commit.submit(("a", 1)))
    await store.started.wait()
    few = [asyncio.create_task(commit.submit((key, 1))) for key in "bc"]
    await asyncio.sleep(0.01)
    assert len(store.batches) == 1, "two waiting requests do not start a batch of their own"
    more = asyncio.create_task(commit.submit(("d", 1)))
    await asyncio.sleep(0.01)
    assert store.batches[1:] == [[("b", 1), ("c", 1), ("d", 1)]]
    store.release.set()
    await asyncio.gather(first, *few, more)
    await commit.close()


async def test_an_exception_answered_for_one_request_is_raised_to_its_caller_only() -> None:
    def answer(request: Request) -> Outcome[str]:
        return ValueError("refused") if request[0] == "bad" else "ok"

    commit = group_commit(Store(answer))
    outcomes = await asyncio.gather(
        *(commit.submit((key, 1)) for key in ("good", "bad", "fine")), return_exceptions=True
    )
    assert outcomes[0] == outcomes[2] == "ok"
    assert isinstance(outcomes[1], ValueError)
    await commit.close()


async def test_a_failing_store_fails_every_request_of_its_batch_and_the_queue_goes_on() -> None:
    calls = 0

    async def store(batch: list[Request]) -> list[Outcome[str]]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the database went away")
        return ["stored"] * len(batch)

    commit: GroupCommit[Request, str] = GroupCommit(store, keys=lambda r: (r[0],), writers=1, max_batch=8)
    outcomes = await asyncio.gather(*(commit.submit((key, 1)) for key in "ab"), return_exceptions=True)
    assert [type(o) for o in outcomes] == [RuntimeError, RuntimeError]
    assert await commit.submit(("a", 2)) == "stored"
    await commit.close()


async def test_a_request_withdrawn_before_its_batch_is_not_stored() -> None:
    store = Store()
    store.hold.set()
    commit = group_commit(store)
    first = asyncio.create_task(commit.submit(("a", 1)))
    await store.started.wait()
    withdrawn = asyncio.create_task(commit.submit(("b", 1)))
    kept = asyncio.create_task(commit.submit(("c", 1)))
    await asyncio.sleep(0.01)
    withdrawn.cancel()
    store.release.set()
    assert list(await asyncio.gather(first, kept)) == ["a-1", "c-1"]
    assert store.batches == [[("a", 1)], [("c", 1)]]
    await commit.close()


async def test_close_stores_what_is_queued_then_refuses_more() -> None:
    store = Store()
    store.hold.set()
    commit = group_commit(store)
    queued = [asyncio.create_task(commit.submit((key, 1))) for key in "abc"]
    await store.started.wait()
    closing = asyncio.create_task(commit.close())
    await asyncio.sleep(0.01)
    store.release.set()
    await closing
    assert [task.result() for task in queued] == ["a-1", "b-1", "c-1"]
    with pytest.raises(RuntimeError, match="closed"):
        await commit.submit(("d", 1))


async def test_requests_sharing_any_of_their_keys_are_never_stored_together_nor_at_once() -> None:
    store: Store = Store()
    store.hold.set()
    # Each request's keys: its own name, and (here) a second key the first three share two by two.
    shared = {"a": ("a", "x"), "b": ("b", "x"), "c": ("c", "y"), "d": ("d",)}
    commit: GroupCommit[Request, str] = GroupCommit(
        store, keys=lambda request: shared[request[0]], writers=2, max_batch=8, parallel_threshold=1
    )
    first = asyncio.create_task(commit.submit(("a", 1)))
    await store.started.wait()
    rest = [asyncio.create_task(commit.submit((key, 1))) for key in "bcd"]
    await asyncio.sleep(0)
    store.release.set()
    await asyncio.gather(first, *rest)
    # b shares x with a, which is being stored: it waits; c and d go at once, in another writer.
    assert store.batches[:2] == [[("a", 1)], [("c", 1), ("d", 1)]]
    assert store.batches[2:] == [[("b", 1)]]
    await commit.close()
