"""Work that can wait gives way to requests Slack and Teams are waiting on, but never starves."""

from __future__ import annotations

import asyncio

from bot.priority import Priority


async def request(priority: Priority, order: list[str], name: str, release: asyncio.Event) -> None:
    """A request Slack or Teams waits on, answered once `release` is set."""
    with priority.answering():
        await release.wait()
        order.append(name)


async def reply(priority: Priority, order: list[str]) -> None:
    """Work that can wait: it gives way first."""
    await priority.give_way()
    order.append("reply")


async def test_with_no_request_in_flight_nothing_waits() -> None:
    order: list[str] = []
    priority = Priority(patience=60)
    task = asyncio.create_task(reply(priority, order))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert order == ["reply"]
    await task


async def test_a_reply_goes_after_the_answers_being_given() -> None:
    order: list[str] = []
    priority = Priority(patience=60)
    answer_sent = asyncio.Event()
    answering = asyncio.create_task(request(priority, order, "answer", answer_sent))
    await asyncio.sleep(0)
    replying = asyncio.create_task(reply(priority, order))
    for _ in range(5):
        await asyncio.sleep(0)
    assert order == []  # the reply is waiting for the answer
    answer_sent.set()
    await asyncio.wait_for(asyncio.gather(answering, replying), timeout=5)
    assert order == ["answer", "reply"]


async def test_a_gap_that_closes_at_once_is_not_taken() -> None:
    """In a burst the next request is already read when one is answered: the reply waits for it too."""
    order: list[str] = []
    priority = Priority(patience=60)
    release_a, release_b = asyncio.Event(), asyncio.Event()
    following: list[asyncio.Task[None]] = []

    async def first_request() -> None:
        await request(priority, order, "a", release_a)
        following.append(asyncio.create_task(request(priority, order, "b", release_b)))  # read in the same pass

    first = asyncio.create_task(first_request())
    await asyncio.sleep(0)
    replying = asyncio.create_task(reply(priority, order))
    await asyncio.sleep(0)
    release_a.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert order == ["a"]  # the instant between a and b was no gap
    release_b.set()
    await asyncio.wait_for(asyncio.gather(first, replying, *following), timeout=5)
    assert order == ["a", "b", "reply"]


async def test_under_an_endless_burst_waiting_work_still_moves() -> None:
    priority = Priority(patience=0.01)
    with priority.answering():  # a request that is never answered while the reply waits
        await asyncio.wait_for(priority.give_way(), timeout=5)
    assert priority.in_flight == 0


async def test_one_persons_work_is_done_in_order_while_others_go_alongside() -> None:
    from bot.priority import Backlog

    done: list[str] = []
    first_may_finish = asyncio.Event()
    backlog = Backlog(Priority(), workers=4)

    async def answer(name: str, wait: asyncio.Event | None = None) -> None:
        if wait is not None:
            await wait.wait()
        done.append(name)

    backlog.add(lambda: answer("emma: facebook", first_may_finish), key="eclarke")
    backlog.add(lambda: answer("emma: Year 6 trips"), key="eclarke")
    backlog.add(lambda: answer("tom: help"), key="treid")
    for _ in range(10):
        await asyncio.sleep(0)
    assert done == ["tom: help"]  # Emma's second answer waits for her first; Tom's does not
    first_may_finish.set()
    await asyncio.wait_for(backlog.idle(), timeout=5)
    assert done == ["tom: help", "emma: facebook", "emma: Year 6 trips"]
    await backlog.close()


async def test_the_scheduler_waits_for_the_answers_being_given() -> None:
    from tests.harness import TestBot

    bot = TestBot()
    bot.core.priority.patience = 60
    with bot.core.priority.answering():  # a burst: Slack is waiting for an answer
        bot.core.start_background(tick_interval=0.01)
        await asyncio.sleep(0.1)
        assert bot.store.get("scheduler", "last_tick") is None  # no tick meanwhile
    for _ in range(100):
        if bot.store.get("scheduler", "last_tick") is not None:
            break
        await asyncio.sleep(0.01)
    assert bot.store.get("scheduler", "last_tick") is not None  # then at once
    await bot.core.close()
