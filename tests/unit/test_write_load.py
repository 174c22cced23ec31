# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bookkeeping of the write-load harness (tests/integration/write_load.py), without a server."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'integration'))

import write_load  # noqa: E402  pylint: disable=wrong-import-position


class Finished(object):
    """What LoadReport reads of a WriteLoad that ran."""

    def __init__(self, acknowledged, write_times, samples):
        self.started = 100.0
        self.stopped = 110.0
        self.acknowledged = set(acknowledged)
        self.write_times = [100.0 + moment for moment in write_times]
        self.failed_attempts = 2
        self.failures = []
        self.writes_by_node = {'a': len(acknowledged)}
        self.samples = dict((name, [(100.0 + moment, up) for moment, up in probes]) for name, probes in samples.items())


def test_down_intervals_run_from_the_first_failed_probe_to_the_next_answer():
    samples = [(0.0, True), (0.2, False), (0.4, False), (0.6, True), (0.8, True), (1.0, False), (1.2, True)]
    assert write_load.down_intervals(samples) == [(0.2, 0.6), (1.0, 1.2)]


def test_a_node_still_down_at_the_end_is_down_until_the_end():
    assert write_load.down_intervals([(0.0, True), (0.2, False), (0.4, False)], end=5.0) == [(0.2, 5.0)]
    assert write_load.down_intervals([(0.0, False)]) == [(0.0, 0.0)]
    assert write_load.down_intervals([]) == []


def test_overlaps_find_two_nodes_down_together_and_not_one_after_the_other():
    intervals = {'a': [(1.0, 3.0), (10.0, 12.0)], 'b': [(3.0, 5.0)], 'c': [(11.5, 20.0)]}
    # a then b touch at 3.0: one after the other, not together.
    assert write_load.overlaps(intervals) == [('a', 'c', 11.5, 12.0)]
    assert write_load.overlaps({'a': [(1.0, 2.0)], 'b': [(2.5, 3.0)], 'c': []}) == []
    assert write_load.overlaps({'a': [(0.0, 10.0)], 'b': [(2.0, 3.0)], 'c': [(2.5, 4.0)]}) == [
        ('a', 'b', 2.0, 3.0), ('a', 'c', 2.5, 4.0), ('b', 'c', 2.5, 3.0)]


def test_longest_gap_is_between_two_consecutive_acknowledged_writes():
    assert write_load.longest_gap([0.3, 0.1, 0.2, 2.7, 2.8]) == 2.7 - 0.3
    assert write_load.longest_gap([5.0]) == 0.0
    assert write_load.longest_gap([]) == 0.0


def test_the_report_counts_lost_records_and_names_every_problem():
    load = Finished([1, 2, 3, 4], [0.1, 0.2, 1.7, 1.8], {
        'a': [(0.0, True), (1.0, False), (2.0, True)],
        'b': [(0.0, True), (1.5, False), (2.5, True)],
    })
    on_nodes = {'a': {'count': 4, 'missing': [], 'extra': []},
                'b': {'count': 3, 'missing': [4], 'extra': []}}
    report = write_load.LoadReport(load, on_nodes)
    assert report.lost == [4]
    assert round(report.longest_gap, 6) == 1.5
    assert round(report.downtime('a'), 6) == 1.0
    assert report.overlaps == [('a', 'b', 1.5, 2.0)]
    assert report.problems() == [
        'b lacks 1 of 4 acknowledged records (first ids: [4])',
        'b counts 3 records, 4 were acknowledged',
        'a and b were down together from 1.5 s to 2.0 s',
    ]
    figures = report.figures()
    assert figures['records written'] == 4 and figures['lost'] == 1 and figures['failed attempts'] == 2
    assert figures['downtime s'] == {'a': 1.0, 'b': 1.0}


def test_a_clean_run_has_no_problem():
    load = Finished([1, 2], [0.1, 0.2], {'a': [(0.0, True)], 'b': [(0.0, True), (0.2, False), (0.4, True)]})
    report = write_load.LoadReport(load, {'a': {'count': 2, 'missing': [], 'extra': []},
                                          'b': {'count': 2, 'missing': [], 'extra': []}})
    assert report.problems() == []
    assert report.lost == []
