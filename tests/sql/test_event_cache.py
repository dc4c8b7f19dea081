"""The events a SQL backend keeps from earlier reads (``EventCache``): what it fetches, keeps and drops."""

from __future__ import annotations

import random
import threading

from adk_grpc_sessions.server.backends.base import SessionKey, StoredEvent
from adk_grpc_sessions.server.backends.sql.event_cache import EventCache, kept_bytes

_KEY = SessionKey("app", "u", "s")


class _Store:
    """A session's events 1..``count`` as a database would fetch them, each fetch recorded."""

    def __init__(self, count: int, tag: str = "e") -> None:
        self.events = [
            StoredEvent(f"{tag}{n}", n, f'{{"n": {n}}}', b"\x01cache") for n in range(1, count + 1)
        ]
        self.fetched: list[tuple[int, int]] = []

    def fetch(self, first: int, last: int) -> list[StoredEvent]:
        self.fetched.append((first, last))
        return self.events[first - 1 : last]


def test_a_session_read_again_fetches_only_the_events_newer_than_those_kept() -> None:
    cache, store = EventCache(), _Store(10)
    assert cache.events(_KEY, 1, 5.0, 1, 6, store.fetch) == store.events[:6]

    again = cache.events(_KEY, 1, 5.0, 1, 10, store.fetch)

    assert again == store.events
    assert store.fetched == [(1, 6), (7, 10)]


def test_a_window_within_the_events_kept_is_served_without_a_fetch() -> None:
    cache, store = EventCache(), _Store(10)
    cache.events(_KEY, 1, 5.0, 1, 10, store.fetch)
    store.fetched.clear()

    assert cache.events(_KEY, 1, 5.0, 4, 8, store.fetch) == store.events[3:8]
    assert cache.events(_KEY, 1, 5.0, 3, 2, store.fetch) == []
    assert store.fetched == []


def test_a_window_that_starts_before_the_events_kept_is_fetched_whole_and_kept() -> None:
    cache, store = EventCache(), _Store(10)
    cache.events(_KEY, 1, 5.0, 8, 10, store.fetch)

    assert cache.events(_KEY, 1, 5.0, 2, 10, store.fetch) == store.events[1:]
    assert cache.events(_KEY, 1, 5.0, 2, 10, store.fetch) == store.events[1:]
    assert store.fetched == [(8, 10), (2, 10)]


def test_a_session_made_again_under_its_name_is_fetched_anew() -> None:
    cache, old, new = EventCache(), _Store(4, "old"), _Store(4, "new")
    cache.events(_KEY, 1, 5.0, 1, 4, old.fetch)

    assert cache.events(_KEY, 2, 6.0, 1, 4, new.fetch) == new.events
    assert cache.events(_KEY, 2, 6.0, 1, 4, new.fetch) == new.events
    assert new.fetched == [(1, 4)]


def test_a_row_that_reuses_a_key_in_tables_made_anew_is_fetched_anew() -> None:
    cache, old, new = EventCache(), _Store(4, "old"), _Store(4, "new")
    cache.events(_KEY, 1, 5.0, 1, 4, old.fetch)

    assert cache.events(_KEY, 1, 6.0, 1, 4, new.fetch) == new.events
    assert new.fetched == [(1, 4)]


def test_a_forgotten_session_or_user_keeps_nothing() -> None:
    cache = EventCache()
    other_user, same_user = SessionKey("app", "v", "s"), SessionKey("app", "u", "t")
    stores = {key: _Store(2, key.session_id) for key in (_KEY, other_user, same_user)}
    for number, (key, store) in enumerate(stores.items()):
        cache.events(key, number, 5.0, 1, 2, store.fetch)

    cache.forget(_KEY)
    cache.forget_user("app", "u")
    cache.forget(SessionKey("app", "u", "never-read"))

    assert cache.size == kept_bytes(stores[other_user].events)
    for number, (key, store) in enumerate(stores.items()):
        cache.events(key, number, 5.0, 1, 2, store.fetch)
    assert [len(store.fetched) for store in stores.values()] == [2, 1, 2]


def test_events_that_are_not_the_sequences_asked_for_are_returned_but_not_kept() -> None:
    cache, store = EventCache(), _Store(5)
    del store.events[2]  # sequence 3 missing: 1, 2, 4, 5

    assert [event.sequence for event in cache.events(_KEY, 1, 5.0, 1, 4, store.fetch)] == [1, 2, 4, 5]
    cache.events(_KEY, 1, 5.0, 1, 4, store.fetch)
    assert store.fetched == [(1, 4), (1, 4)]
    assert cache.size == 0


def test_the_least_recently_read_sessions_go_once_the_events_kept_pass_the_bound() -> None:
    stores = {session_pk: _Store(3, f"s{session_pk}-") for session_pk in (1, 2, 3)}
    one_session = kept_bytes(stores[1].events)
    cache = EventCache(max_bytes=2 * one_session)

    def read(session_pk: int) -> None:
        key = SessionKey("app", "u", str(session_pk))
        cache.events(key, session_pk, 5.0, 1, 3, stores[session_pk].fetch)

    read(1)
    read(2)
    read(1)  # read again: now the most recent
    read(3)

    assert cache.size == 2 * one_session
    for session_pk in (1, 3, 2):  # the two kept first: reading the dropped one drops another
        read(session_pk)
    assert [len(stores[session_pk].fetched) for session_pk in (1, 2, 3)] == [1, 2, 1]


def test_a_session_larger_than_the_bound_is_never_kept() -> None:
    store = _Store(3)
    cache = EventCache(max_bytes=kept_bytes(store.events) - 1)

    cache.events(_KEY, 1, 5.0, 1, 3, store.fetch)
    cache.events(_KEY, 1, 5.0, 1, 3, store.fetch)

    assert store.fetched == [(1, 3), (1, 3)]
    assert cache.size == 0


def test_a_list_handed_out_stays_as_it_was_when_the_session_grows() -> None:
    cache, store = EventCache(), _Store(6)
    first = cache.events(_KEY, 1, 5.0, 1, 3, store.fetch)

    cache.events(_KEY, 1, 5.0, 1, 6, store.fetch)

    assert first == store.events[:3]


def test_an_event_counts_the_memory_its_text_takes_not_its_length() -> None:
    ascii_json = StoredEvent("e1", 1, '"' + "a" * 1000 + '"')
    wide_json = StoredEvent("e1", 1, '"' + "\u5b57" * 1000 + '"')

    assert kept_bytes([wide_json]) - kept_bytes([ascii_json]) >= 1000


def test_reads_from_several_threads_at_once_each_get_the_events_they_ask_for() -> None:
    store = _Store(400)
    cache = EventCache(max_bytes=kept_bytes(store.events[:300]))
    wrong: list[tuple[int, int]] = []

    def reader(seed: int) -> None:
        chooser = random.Random(seed)
        for turn in range(1500):
            last = min(400, 10 + turn // 4 + chooser.randrange(8))  # the session grows as they read
            first = chooser.randrange(1, last + 2)
            if chooser.random() < 0.01:
                cache.forget(_KEY)
            if cache.events(_KEY, 1, 5.0, first, last, store.fetch) != store.events[first - 1 : last]:
                wrong.append((first, last))

    threads = [threading.Thread(target=reader, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert wrong == []
    assert 0 <= cache.size <= kept_bytes(store.events[:300])


def test_an_event_appended_right_after_the_events_kept_is_served_without_a_fetch() -> None:
    cache, store = EventCache(), _Store(8)
    handed_out = cache.events(_KEY, 1, 5.0, 1, 6, store.fetch)
    store.fetched.clear()

    cache.appended(_KEY, store.events[6])

    assert cache.events(_KEY, 1, 5.0, 1, 7, store.fetch) == store.events[:7]
    assert store.fetched == []
    assert handed_out == store.events[:6]
    assert cache.size == kept_bytes(store.events[:7])


def test_an_appended_event_that_does_not_follow_on_or_has_no_run_is_not_kept() -> None:
    cache, store = EventCache(), _Store(8)
    cache.appended(_KEY, store.events[0])  # nothing read of the session yet
    assert cache.size == 0
    cache.events(_KEY, 1, 5.0, 1, 5, store.fetch)
    store.fetched.clear()

    cache.appended(_KEY, store.events[6])  # sequence 7 after 5: a gap

    assert cache.events(_KEY, 1, 5.0, 1, 7, store.fetch) == store.events[:7]
    assert store.fetched == [(6, 7)]


def test_an_appended_event_that_would_pass_the_bound_drops_the_least_recently_read_sessions() -> None:
    stores = {session_pk: _Store(4, f"s{session_pk}-") for session_pk in (1, 2)}
    three = kept_bytes(stores[1].events[:3])
    cache = EventCache(max_bytes=2 * three)
    keys = {session_pk: SessionKey("app", "u", str(session_pk)) for session_pk in (1, 2)}
    for session_pk in (1, 2):
        cache.events(keys[session_pk], session_pk, 5.0, 1, 3, stores[session_pk].fetch)

    cache.appended(keys[2], stores[2].events[3])

    assert cache.size == kept_bytes(stores[2].events)
    cache.events(keys[1], 1, 5.0, 1, 3, stores[1].fetch)
    assert stores[1].fetched == [(1, 3), (1, 3)]


def test_the_stats_count_the_events_taken_from_memory_and_those_fetched() -> None:
    cache, store = EventCache(), _Store(10)
    cache.events(_KEY, 1, 5.0, 1, 6, store.fetch)  # 6 fetched
    cache.events(_KEY, 1, 5.0, 2, 5, store.fetch)  # 4 kept
    cache.events(_KEY, 1, 5.0, 1, 10, store.fetch)  # 6 kept, 4 fetched

    stats = cache.stats()

    assert (stats.served, stats.fetched) == (10, 10)
    assert stats.kept_bytes == kept_bytes(store.events) == cache.size
