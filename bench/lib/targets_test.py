"""bench/lib/targets.py's verdicts on made-up medians (run by scripts/test:
`python3 -m unittest discover -s bench/lib -p '*_test.py'`)."""
import unittest

import targets


def figures(rate, p99, cpu, rss_mib=35):
    return {"rate": rate, "p99": p99, "cpu": cpu, "rss": rss_mib * targets.MIB}


class Verdicts(unittest.TestCase):
    def verdicts(self, med, scenarios, startup=None, concurrency=32):
        found = targets.rows(med, scenarios, startup or {}, concurrency)
        return {what: (ratio, verdict) for what, _, _, ratio, verdict in found}

    def test_each_target_is_checked_against_its_bound(self):
        med = {("sqlite", "auth-username"): figures(5819, 9.97, 169),
               ("peer", "auth-username"): figures(1884, 26.85, 530, 555),
               ("sqlite", "register"): figures(8389, 10.28, 112),
               ("peer", "register"): figures(4640, 16.02, 213, 649)}
        v = self.verdicts(med, ["auth-username", "register"], {"sqlite": 11.07, "peer": 437})
        self.assertEqual(v["auth-username: ceremonies/s vs the peer"], ("1.0295", "met"))
        self.assertEqual(v["auth-username: server CPU per ceremony"], ("0.5633", "met"))
        self.assertEqual(v["auth-username: server CPU vs the peer"], ("1.2755", "NOT MET"))
        self.assertEqual(v["auth-username: p99 vs the peer"], ("1.1140", "NOT MET"))
        self.assertEqual(v["auth-username: peak RSS"], ("0.5469", "met"))
        self.assertEqual(v["register: ceremonies/s vs the peer"], ("0.9040", "NOT MET"))
        self.assertEqual(v["start-up to ready"], ("0.1107", "met"))
        self.assertEqual(len(v), 7)

    def test_a_bound_reached_exactly_is_met_where_the_target_allows_it(self):
        med = {("sqlite", "auth-usernameless"): figures(3000, 10, 300, 64),
               ("peer", "auth-usernameless"): figures(1000, 30, 1200, 100)}
        v = self.verdicts(med, ["auth-usernameless"])
        self.assertEqual(v["auth-usernameless: ceremonies/s vs the peer"][1], "met")
        self.assertEqual(v["auth-usernameless: server CPU per ceremony"][1], "met")
        self.assertEqual(v["auth-usernameless: server CPU vs the peer"][1], "met")
        self.assertEqual(v["auth-usernameless: p99 vs the peer"][1], "met")
        self.assertEqual(v["auth-usernameless: peak RSS"][1], "NOT MET")  # < 64, strictly

    def test_without_the_peer_only_the_absolute_targets_are_checked(self):
        med = {("sqlite", "auth-username"): figures(5819, 9.97, 169)}
        v = self.verdicts(med, ["auth-username", "register"])
        self.assertEqual(sorted(v), ["auth-username: peak RSS", "auth-username: server CPU per ceremony"])

    def test_a_ratio_a_hair_above_its_bound_is_not_met_nor_shown_as_equal(self):
        # The seventeenth session's second full run: p99 9.207 vs 27.615 ms.
        med = {("sqlite", "auth-username"): figures(5887, 9.207, 167.5),
               ("peer", "auth-username"): figures(1827, 27.615, 547)}
        found = {r[0]: r for r in targets.rows(med, ["auth-username"], {}, 32)}
        _, measured, target, ratio, verdict = found["auth-username: p99 vs the peer"]
        self.assertEqual((measured, target, ratio, verdict), ("0.3334x", "<= 0.3333x", "1.0002", "NOT MET"))

    def test_the_p99_target_is_only_checked_at_concurrency_32(self):
        med = {("sqlite", "auth-username"): figures(5819, 9.97, 169),
               ("peer", "auth-username"): figures(1884, 26.85, 530)}
        self.assertNotIn("auth-username: p99 vs the peer", self.verdicts(med, ["auth-username"], concurrency=64))

    def test_the_mix_and_postgres_are_not_targets(self):
        med = {("postgres", "auth-username"): figures(1442, 36.8, 316),
               ("sqlite", "mix"): figures(5737, 10.41, 171),
               ("peer", "mix"): figures(1806, 28.21, 554)}
        self.assertEqual(self.verdicts(med, ["auth-username", "mix"]), {})
        self.assertEqual(targets.render(med, ["auth-username", "mix"], {}, 32), "")


if __name__ == "__main__":
    unittest.main()
