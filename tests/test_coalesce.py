"""core.coalesce: the additions of a window go to one delivery, on one long-lived thread."""

import queue
import threading

from core.coalesce import Coalescer


class Recorder(Coalescer):
    WINDOW = 0.001

    def __init__(self, fail_first=False):
        super().__init__()
        self.batches: queue.Queue = queue.Queue()
        self.threads: set = set()
        self.fail_first = fail_first
        self.failed = threading.Event()

    def deliver(self, items):
        self.threads.add(threading.get_ident())
        if self.fail_first:
            self.fail_first = False
            self.failed.set()
            raise ConnectionError("broker down")
        self.batches.put(items)


def test_flush_delivers_the_open_batch_once():
    recorder = Recorder()
    recorder.WINDOW = 600  # the thread would wait longer than the test
    recorder.add([1, 2])
    recorder.add([3])
    recorder.flush()
    recorder.flush()  # nothing left
    assert recorder.batches.get_nowait() == [1, 2, 3]
    assert recorder.batches.empty()


def test_the_thread_delivers_each_batch_and_survives_a_failed_one():
    recorder = Recorder(fail_first=True)
    recorder.add([1])  # lost: the table of record keeps it for the re-drive
    assert recorder.failed.wait(timeout=10)
    for n in (2, 3):
        recorder.add([n])
        assert recorder.batches.get(timeout=10) == [n]
    assert len(recorder.threads) == 1 and threading.get_ident() not in recorder.threads


def test_a_batch_flushed_by_hand_is_not_delivered_again_by_the_thread():
    recorder = Recorder()
    recorder.WINDOW = 600
    recorder.add([1])
    recorder.flush()
    recorder.WINDOW = 0.001
    recorder.add([2])
    assert recorder.batches.get(timeout=10) == [1]
    assert recorder.batches.get(timeout=10) == [2]
    assert recorder.batches.empty()
