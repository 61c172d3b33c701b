"""Tests of bench/lib/paired.py: the per-round comparison of A/B turns."""

import unittest

import paired


def turn(rate, cpu, p99):
    return {"rate": rate, "cpu": cpu, "p99": p99}


class PairedTest(unittest.TestCase):
    def test_ratios_are_taken_within_each_round(self):
        # The VM slows down between rounds; B is 2 % faster in each.
        a = [turn(6000, 160.0, 10.0), turn(5000, 200.0, 14.0), turn(5500, 180.0, 12.0)]
        b = [turn(6120, 156.8, 9.8), turn(5100, 196.0, 13.72), turn(5610, 176.4, 11.76)]
        got = paired.compare(a, b)
        self.assertAlmostEqual(got["rate"][0], 1.02)
        self.assertEqual(got["rate"][3:], (3, 3))
        self.assertAlmostEqual(got["cpu"][0], 0.98)
        self.assertEqual(got["cpu"][3:], (3, 3))
        self.assertEqual(got["p99"][3:], (3, 3))

    def test_lower_is_better_for_cpu_and_p99_higher_for_rate(self):
        a = [turn(6000, 160.0, 10.0), turn(6000, 160.0, 10.0)]
        b = [turn(5900, 165.0, 9.0), turn(6100, 150.0, 11.0)]
        got = paired.compare(a, b)
        self.assertEqual(got["rate"][3], 1)
        self.assertEqual(got["cpu"][3], 1)
        self.assertEqual(got["p99"][3], 1)
        self.assertAlmostEqual(got["p99"][1], 0.9)
        self.assertAlmostEqual(got["p99"][2], 1.1)

    def test_a_tie_counts_as_not_better(self):
        got = paired.compare([turn(6000, 160.0, 10.0)], [turn(6000, 160.0, 10.0)])
        self.assertEqual([v[3] for v in got.values()], [0, 0, 0])

    def test_lines_name_each_figure(self):
        out = paired.lines([turn(6000, 160.0, 10.0)], [turn(6060, 158.4, 9.5)])
        self.assertEqual(out[0], "B/A ceremonies/s: median 1.010 (1.010–1.010), B better in 1 of 1 rounds")
        self.assertTrue(out[2].startswith("B/A p99 ms: median 0.950"))


if __name__ == "__main__":
    unittest.main()
