"""Checks of the no-op floor's derivation: python3 -m unittest bench/test_noop_asl.py"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import noop_asl  # noqa: E402

ASL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "statemachines", "remediation.asl.json")


class NoopFloor(unittest.TestCase):
    def test_the_repository_state_machine_gives_a_floor_on_the_healed_path(self):
        text, path, canned = noop_asl.derive(open(ASL).read(), "us-east-1", {"finding": {"resource": "b"}})
        self.assertEqual(path[0], "Classify")
        self.assertEqual(path[-1], "Healed")
        for state in ("Remediate", "Verify"):
            self.assertIn(state, path)
        floor = json.loads(text)
        original = json.loads(open(ASL).read())
        self.assertEqual(set(floor["States"]), set(original["States"]), "same states")
        for name, st in floor["States"].items():
            if st["Type"] != "Task":
                self.assertEqual(st, original["States"][name], f"{name} unchanged")
                continue
            fn = st.get("Parameters", {}).get("FunctionName", st["Resource"])
            self.assertIn(":function:bench-noop-", fn, name)
        self.assertNotIn("${", text)

    def test_a_choice_the_floor_cannot_satisfy_is_refused(self):
        asl = {"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "${XFunctionArn}", "ResultPath": "$.r", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.r.n", "NumericGreaterThan": 3, "Next": "Healed"}],
                  "Default": "F"},
            "Healed": {"Type": "Succeed"}, "F": {"Type": "Fail"}}}
        with self.assertRaises(ValueError):
            noop_asl.derive(json.dumps(asl), "us-east-1", {})

    def test_earlier_choices_are_checked_against_the_canned_results(self):
        asl = {"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "${XFunctionArn}", "ResultPath": "$.r", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [
                {"Variable": "$.r.x", "IsPresent": False, "Next": "F"},
                {"Variable": "$.r.y", "StringEquals": "go", "Next": "Healed"}], "Default": "F"},
            "Healed": {"Type": "Succeed"}, "F": {"Type": "Fail"}}}
        with self.assertRaises(ValueError):
            noop_asl.derive(json.dumps(asl), "us-east-1", {})


if __name__ == "__main__":
    unittest.main()
