"""The no-op floor workflow, derived at run time from statemachines/remediation.asl.json.

Same states, same Choices, Retries, Catches, Parameters and ResultPaths; only each Lambda task's
function is replaced by `bench-noop-<State>`, which the local gateway answers at once with the
canned result found in its payload (`bench_noop_result`, added to the task's Parameters here).
The canned results are chosen so that the execution takes the path to the target state (`Healed`)
that the real auto path takes: the shortest path through Task/Choice/Pass/Wait edges, each Choice
satisfied by the result of the task whose ResultPath holds the Choice's variable.

    python bench/noop_asl.py statemachines/remediation.asl.json   # prints the derived definition
"""
import collections
import copy
import json
import re
import sys

ACCOUNT = "123456789012"
NOOP_PREFIX = "bench-noop-"


def noop_arn(region, state):
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{NOOP_PREFIX}{state}"


def _edges(state):
    t = state.get("Type")
    if t == "Choice":
        out = [c["Next"] for c in state.get("Choices", [])]
        if "Default" in state:
            out.append(state["Default"])
        return out
    if state.get("End") or t in ("Succeed", "Fail"):
        return []
    return [state["Next"]] if "Next" in state else []


def shortest_path(asl, target):
    """States from StartAt to `target` along success edges (BFS, so no Wait loop is taken)."""
    states = asl["States"]
    prev = {asl["StartAt"]: None}
    q = collections.deque([asl["StartAt"]])
    while q:
        s = q.popleft()
        if s == target:
            path = []
            while s is not None:
                path.append(s)
                s = prev[s]
            return path[::-1]
        for n in _edges(states[s]):
            if n not in prev and n in states:
                prev[n] = s
                q.append(n)
    raise ValueError(f"no path from {asl['StartAt']} to {target}")


def _split(path):
    assert path.startswith("$."), path
    return path[2:].split(".")


def _get(doc, path):
    cur = doc
    for k in _split(path):
        if not isinstance(cur, dict) or k not in cur:
            return _MISSING
        cur = cur[k]
    return cur


_MISSING = object()


def _matches(rule, doc):
    if "And" in rule:
        return all(_matches(r, doc) for r in rule["And"])
    if "Or" in rule:
        return any(_matches(r, doc) for r in rule["Or"])
    if "Not" in rule:
        return not _matches(rule["Not"], doc)
    v = _get(doc, rule["Variable"])
    for op, want in rule.items():
        if op in ("Variable", "Next"):
            continue
        if op == "IsPresent":
            return (v is not _MISSING) == want
        if v is _MISSING:
            return False
        if op in ("StringEquals", "BooleanEquals", "NumericEquals"):
            return v == want
        raise ValueError(f"the no-op floor cannot satisfy Choice operator {op}")
    return False


def _satisfy(rule):
    """(variable, value) that makes a simple rule true."""
    for op in ("StringEquals", "BooleanEquals", "NumericEquals"):
        if op in rule:
            return rule["Variable"], rule[op]
    if rule.get("IsPresent") is True:
        return rule["Variable"], 1
    raise ValueError(f"the no-op floor cannot satisfy the Choice rule {rule}")


def derive(asl_text, region, execution_input, target="Healed"):
    """(definition JSON text, path, canned results by task state)."""
    asl = json.loads(asl_text.replace("${Partition}", "aws"))
    states = asl["States"]
    path = shortest_path(asl, target)
    tasks = [s for s in states if states[s].get("Type") == "Task"]
    canned = {s: {} for s in tasks}
    result_paths = {s: states[s].get("ResultPath", "$") for s in tasks}
    # Walk the path, choosing each task's result so every Choice goes where the path goes.
    for i, name in enumerate(path[:-1]):
        st, nxt = states[name], path[i + 1]
        if st.get("Type") != "Choice":
            continue
        rule = next((c for c in st.get("Choices", []) if c["Next"] == nxt), None)
        if rule is None:
            continue  # Default: nothing set is the usual way there; checked below
        var, value = _satisfy(rule)
        owner = max((t for t in path[:i] if t in result_paths and result_paths[t] != "$"
                     and var.startswith(result_paths[t] + ".")), key=path.index, default=None)
        if owner is None:
            continue  # read from the execution input itself; checked below
        cur = canned[owner]
        keys = var[len(result_paths[owner]) + 1:].split(".")
        for k in keys[:-1]:
            cur = cur.setdefault(k, {})
        cur[keys[-1]] = value
    # Check: replaying the path with those results takes exactly that path.
    doc = copy.deepcopy(execution_input)
    for i, name in enumerate(path[:-1]):
        st = states[name]
        if st.get("Type") == "Task":
            rp = result_paths[name]
            if rp not in (None, "$"):
                cur = doc
                keys = _split(rp)
                for k in keys[:-1]:
                    cur = cur.setdefault(k, {})
                cur[keys[-1]] = canned[name]
        if st.get("Type") == "Choice":
            went = next((c["Next"] for c in st.get("Choices", []) if _matches(c, doc)), st.get("Default"))
            if went != path[i + 1]:
                raise ValueError(f"the no-op floor's {name} would go to {went}, not {path[i + 1]}")
    # Rewrite every Lambda task (on the path or not) to its no-op function.
    for name in tasks:
        st = states[name]
        res = st["Resource"]
        if res.startswith("arn:aws:states:::lambda:invoke"):
            params = st.setdefault("Parameters", {})
            params["FunctionName"] = noop_arn(region, name)
            payload = params.get("Payload")
            if isinstance(payload, dict):
                payload["bench_noop_result"] = canned[name]
            else:
                params["Payload"] = {"bench_noop_result": canned[name], "input.$": "$"}
        elif ":lambda:" in res or res.startswith("${"):
            st["Resource"] = noop_arn(region, name)
            if "Parameters" in st:
                st["Parameters"]["bench_noop_result"] = canned[name]
            else:
                st["Parameters"] = {"bench_noop_result": canned[name], "input.$": "$"}
    text = json.dumps(asl, indent=1)
    left = re.search(r"\$\{[^}]*\}", text)
    if left:
        raise ValueError(f"the no-op floor still has the placeholder {left.group(0)}")
    return text, path, canned


if __name__ == "__main__":
    text, path, canned = derive(open(sys.argv[1]).read(), "us-east-1", {"finding": {}})
    print(" → ".join(path), file=sys.stderr)
    print(json.dumps(canned, indent=1), file=sys.stderr)
    print(text)
