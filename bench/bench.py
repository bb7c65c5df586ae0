#!/usr/bin/env python3
"""`make bench`: the figures users pick a Rust remediator for, each beside its floor and, where it
can be had, the Conformity project's own Node handler, all measured in this one run on the local
stack. Prints one table and writes it, with every sample, to target/bench/ (bench-<time>.json,
latest.json, latest.md). How each figure is measured: docs/bench.md.

    .venv/bin/python bench/bench.py [--runs 30] [--e2e 100] [--burst 1000] [--dups 1000] [--only cold,e2e,cost,burst]

Environment: SEED_REPO (the seed's git dir, as --seed-repo; no default: without it the seed column is
skipped and says so), BENCH_GATEWAY_PORT (4700; moto +1, approvals +2).
"""
import argparse
import concurrent.futures as cf
import datetime
import json
import math
import os
import platform
import queue
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
import zipfile

import boto3
import botocore.config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from count_proxy import CountProxy  # noqa: E402
from noop_asl import derive as derive_noop  # noqa: E402
from runtime_api import RuntimeApi  # noqa: E402

OUT = os.path.join(ROOT, "target", "bench")
REGION = "us-east-1"
ACCOUNT = "123456789012"
STATE_TABLE = "auto-remediate-state"
APPROVAL_TABLE = "auto-remediate-approvals"
# The seed: a git directory of github.com/cloudconformity/auto-remediate (a clone's `.git`, or a bare
# clone), given by --seed-repo or SEED_REPO. No default: where it lives is the caller's machine's business.
SEED_REPO_HELP = ("the Conformity project's repository as a git directory, e.g. "
                  "`git clone --bare https://github.com/cloudconformity/auto-remediate /tmp/seed.git` then "
                  "SEED_REPO=/tmp/seed.git (or `make bench SEED_REPO=...`, or --seed-repo)")
ARCH = {"x86_64": "x86_64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())

# List prices used for the cost figures (AWS, us-east-1, first tier, free tier ignored).
PRICES = {
    "sfn_standard_per_transition": 0.025 / 1000,
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_s": {"arm64": 0.0000133334, "x86_64": 0.0000166667},
    "source": "aws.amazon.com/step-functions/pricing and aws.amazon.com/lambda/pricing, us-east-1",
}

PORT_RULES = [("EC2-002", 22), ("EC2-003", 3389), ("EC2-004", 1521), ("EC2-005", 3306), ("EC2-006", 5432),
              ("EC2-008", 1433), ("EC2-038", 23), ("EC2-039", 25), ("EC2-040", 135), ("EC2-043", 445),
              ("EC2-045", 27017)]
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"

# Why each AWS call of one cold Remediate is made (lambdas/remediate/src/lib.rs,
# lambdas/core/src/ledger.rs, families/s3_acl.rs, families/helpers/s3_bucket.rs, families/ec2_world_port.rs, aws.rs), and
# what needs it: "fix" (the fix itself: the read it is derived from, the write), "safety" (a stated
# promise that keeps the outcome true under real traffic: one fix per resource at a time, a crash
# completed by its retry, exclusion tags honoured at the moment of the write), or False (nothing
# needs it). Keyed by (service, operation, what), `what` being the ledger item's kind for DynamoDB
# and "again" for a repeated read. A call not listed is reported as having no reason on file.
WHY = {
    ("s3", "GetBucketLocation", ""): ("the bucket's own region: S3 findings arrive with region `global`, and a bucket is reachable only through its region's endpoint (looked up once per bucket and process, so every cold process pays it)", "fix"),
    ("s3", "GetBucketAcl", ""): ("the fresh read the plan is derived from", "fix"),
    ("s3", "GetBucketAcl", "again"): ("a second read of the ACL", False),
    ("s3", "GetBucketTagging", ""): ("live exclusion tags at the moment of the write (a bucket tagged since Classify is not touched); in flight together with the ACL read", "safety"),
    ("s3", "PutBucketAcl", ""): ("the fix: the ACL without the flagged grant", "fix"),
    ("dynamodb", "PutItem", "lease"): ("the resource lease, a conditional write: one fix per resource at a time, so two findings on one resource cannot undo each other's fix", "safety"),
    ("dynamodb", "GetItem", "journal"): ("an earlier attempt's fix journal: a retry after a crash finishes the same intent and keeps the true before-state", "safety"),
    ("dynamodb", "PutItem", "journal"): ("the fix journal (before-state and plan), written before the first write: a Lambda dying between two writes leaves its retry what it needs", "safety"),
    ("dynamodb", "DeleteItem", "lease"): ("the lease released", "safety"),
    ("ec2", "DescribeSecurityGroups", ""): ("the group's live exclusion tags, and whether it exists (a deleted group is ResourceGone, not AlreadyCompliant); in flight together with the rules' read", "safety"),
    ("ec2", "DescribeSecurityGroups", "again"): ("a second read of the group", False),
    ("ec2", "DescribeSecurityGroupRules", ""): ("the fresh read of the ingress rules with their ids, the plan's input", "fix"),
    ("ec2", "DescribeSecurityGroupRules", "again"): ("a second read of the rules", False),
    ("ec2", "RevokeSecurityGroupIngress", ""): ("the fix: revoke the world-open rules on the port (IPv4 and IPv6), every rule id in one call", "fix"),
    ("ec2", "RevokeSecurityGroupIngress", "again"): ("a second revoke call", False),
    ("ec2", "AuthorizeSecurityGroupIngress", ""): ("the fix: re-add what a narrowed range keeps", "fix"),
}
NEEDED_FOR = {"fix": "the fix", "safety": "safety", False: "no", None: "?"}


def why(call, earlier):
    """(reason, needed: "fix" | "safety" | False) of one counted call, given the calls before it."""
    service, op, detail = call["service"], call["operation"], call.get("detail", "")
    if service == "dynamodb":
        what = next((k for k in ("lease", "journal", "check") if f"{k}#" in detail), "")
    else:
        what = "again" if any((c["service"], c["operation"]) == (service, op) for c in earlier) else ""
    return WHY.get((service, op, what)) or WHY.get((service, op, "")) or ("(no reason on file in bench.py)", None)


# ---------------------------------------------------------------- small helpers

def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def pctl(xs, p):
    """Nearest-rank percentile."""
    s = sorted(xs)
    if not s:
        return None
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def summary(xs):
    if not xs:
        return None
    return {"n": len(xs), "min": min(xs), "median": statistics.median(xs), "p95": pctl(xs, 95), "max": max(xs)}


def fmt_ms(s):
    return "n/a" if not s else f"{s['median']:.1f} ms (min {s['min']:.1f}, p95 {s['p95']:.1f})"


def fmt_mb(s):
    return "n/a" if not s else f"{s['median'] / 1024:.1f} MB (max {s['max'] / 1024:.1f})"


def vm_hwm_kb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def epoch(dt):
    return dt.timestamp()


# ---------------------------------------------------------------- processes we start, always ended

CHILDREN = []


def spawn(*args, **kw):
    p = subprocess.Popen(*args, **kw)
    CHILDREN.append(p)
    return p


def end_children():
    for p in CHILDREN:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
    CHILDREN.clear()


# ---------------------------------------------------------------- building what is measured

def timed_make(cmd, logname, what, notes):
    path = os.path.join(OUT, logname)
    log(f"bench: building {what}: {' '.join(cmd)} (log {os.path.relpath(path, ROOT)})")
    t = time.time()
    with open(path, "w") as f:
        rc = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT).returncode
    took = time.time() - t
    notes.append(f"{what} was missing: built in {took:.0f} s ({' '.join(cmd)})")
    if rc != 0:
        raise SystemExit(f"bench: building {what} failed (rc {rc}); see {path}")
    return took


def ensure_artefacts(notes):
    builds = {}
    zip_path = os.path.join(ROOT, "target", "lambda", ARCH, "bootstrap", "bootstrap.zip")
    # Another build can be measured instead (e.g. while the release one is being built): said in the notes.
    if os.environ.get("BENCH_BOOTSTRAP") and os.environ.get("BENCH_GATEWAY_BIN"):
        notes.append(f"NOT the release artefact: bootstrap {os.environ['BENCH_BOOTSTRAP']}, gateway "
                     f"{os.environ['BENCH_GATEWAY_BIN']} (BENCH_BOOTSTRAP / BENCH_GATEWAY_BIN)")
        return zip_path, os.path.abspath(os.environ["BENCH_GATEWAY_BIN"]), os.path.abspath(os.environ["BENCH_BOOTSTRAP"]), builds
    if not os.path.exists(zip_path):
        builds["package_s"] = timed_make(["make", "package", f"ARCHS={ARCH}"], "package.log",
                                         f"the release artefact ({ARCH} bootstrap.zip)", notes)
    gateway = os.path.join(ROOT, "target", "release", "ar-local")
    if not os.path.exists(gateway):
        builds["ar_local_s"] = timed_make(["cargo", "build", "--release", "--locked", "--bin", "ar-local"],
                                          "ar-local.log", "the release gateway (ar-local)", notes)
    # The artefact is what is measured: say when its sources are newer than it.
    newest = 0
    for top in ("lambdas", "Cargo.lock", "Cargo.toml"):
        p = os.path.join(ROOT, top)
        if os.path.isfile(p):
            newest = max(newest, os.path.getmtime(p))
        for d, _, files in os.walk(p):
            for f in files:
                if f.endswith((".rs", ".json", ".toml")):
                    newest = max(newest, os.path.getmtime(os.path.join(d, f)))
    for name, path in (("bootstrap.zip", zip_path), ("ar-local", gateway)):
        if os.path.getmtime(path) < newest:
            notes.append(f"{name} is older than the newest source under lambdas/ (measured as built; "
                         f"rebuild with make package / cargo build --release to include later changes)")
    # The binary inside the zip, run as Lambda runs it.
    bindir = os.path.join(OUT, "bootstrap")
    os.makedirs(bindir, exist_ok=True)
    with zipfile.ZipFile(zip_path) as z:
        z.extract("bootstrap", bindir)
    binary = os.path.join(bindir, "bootstrap")
    os.chmod(binary, 0o755)
    return zip_path, gateway, binary, builds


def artefacts():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "local", "check_package.py"),
                          os.path.join(ROOT, "target", "lambda")], capture_output=True, text=True)
    rows = []
    for line in out.stdout.splitlines():
        m = re.match(r"(\S+)\s+(\S+): zip ([\d.]+) MB, bootstrap ([\d.]+) MB, highest (GLIBC_[\d.]+), (.*)", line)
        if m:
            rows.append({"arch": m.group(1), "zip": os.path.relpath(m.group(2), ROOT), "zip_mb": float(m.group(3)),
                         "zip_bytes": os.path.getsize(m.group(2)), "binary_mb": float(m.group(4)),
                         "glibc": m.group(5), "machine": m.group(6)})
    return {"rows": rows, "check_package_stdout": out.stdout, "check_package_stderr": out.stderr,
            "check_package_rc": out.returncode}


# ---------------------------------------------------------------- the seed (never committed)

def prepare_seed(repo, notes):
    dest = os.path.join(OUT, "seed")
    if not repo:
        notes.append(f"seed column skipped: no seed repository given; it needs {SEED_REPO_HELP}")
        print(f"bench: {notes[-1]}", file=sys.stderr)
        return None
    if not shutil.which("node") or not shutil.which("npm"):
        notes.append("seed column skipped: node/npm not found")
        return None
    if not os.path.isdir(repo):
        notes.append(f"seed column skipped: the seed repository {repo} (SEED_REPO / --seed-repo) is not a "
                     f"directory; it needs {SEED_REPO_HELP}")
        print(f"bench: {notes[-1]}", file=sys.stderr)
        return None
    try:
        head = subprocess.run(["git", "--git-dir", repo, "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        marker = os.path.join(dest, ".bench-installed")
        if not (os.path.exists(marker) and open(marker).read().strip() == head):
            shutil.rmtree(dest, ignore_errors=True)
            os.makedirs(dest)
            t = time.time()
            arch = subprocess.run(["git", "--git-dir", repo, "archive", "--format=tar", "HEAD"],
                                  capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", dest], input=arch, check=True)
            with open(os.path.join(OUT, "seed-npm.log"), "w") as f:
                subprocess.run(["npm", "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"],
                               cwd=dest, stdout=f, stderr=subprocess.STDOUT, check=True)
            open(marker, "w").write(head)
            notes.append(f"seed {head[:12]} exported from {repo} and `npm ci --omit=dev` run in "
                         f"{time.time() - t:.0f} s (target/bench/seed, not committed)")
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(dest) for f in fs)
        return {"dir": dest, "commit": head, "repo": repo, "dir_bytes": size}
    except (subprocess.CalledProcessError, OSError) as e:
        notes.append(f"seed column skipped: preparing it failed ({e}); see target/bench/seed-npm.log")
        return None


# ---------------------------------------------------------------- the stack

class Stack:
    def __init__(self, gateway_bin, port):
        self.dir = os.path.join(ROOT, ".local", "bench")
        self.env = dict(os.environ, STACK_DIR=self.dir, GATEWAY_PORT=str(port), MOTO_PORT_BACKEND=str(port + 1),
                        APPROVAL_PORT=str(port + 2), CONFIG=os.path.join("bench", "config.json"),
                        GATEWAY_BIN=gateway_bin, AWS_REGION=REGION)
        self.up_ = False
        self.lock = threading.Lock()

    def up(self):
        self.up_ = True
        subprocess.run([os.path.join(ROOT, "local", "stack.sh"), "up"], cwd=ROOT, env=self.env, check=True)
        self.info = json.load(open(os.path.join(self.dir, "stack.json")))
        cfg = botocore.config.Config(retries={"max_attempts": 2}, max_pool_connections=64,
                                     s3={"addressing_style": "path"})
        kw = dict(region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test", config=cfg)
        self.gw, self.moto = self.info["endpoint_url"], self.info["moto_url"]
        self.c = {s: boto3.client(s, endpoint_url=self.gw, **kw) for s in ("sns", "stepfunctions", "lambda")}
        # Resources are set up straight on moto (not through the gateway), as a user's tools would.
        self.m = {s: boto3.client(s, endpoint_url=self.moto, **kw) for s in ("s3", "ec2", "dynamodb", "sns")}
        self.kw = kw
        return self

    def down(self):
        if self.up_:
            subprocess.run([os.path.join(ROOT, "local", "stack.sh"), "down"], cwd=ROOT, env=self.env)
            self.up_ = False

    def client(self, service, endpoint):
        # a session of its own: creating clients from the default session is not thread-safe
        with self.lock:
            return boto3.session.Session().client(service, endpoint_url=endpoint, **self.kw)

    # resources
    def public_bucket(self, name, acl="public-read"):
        self.m["s3"].create_bucket(Bucket=name)
        self.m["s3"].put_bucket_acl(Bucket=name, ACL=acl)
        return name

    def open_group(self, name, port=22, all_ports=False):
        sg = self.m["ec2"].create_security_group(GroupName=name, Description="bench")["GroupId"]
        lo, hi = (0, 65535) if all_ports else (port, port)
        self.m["ec2"].authorize_security_group_ingress(GroupId=sg, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": lo, "ToPort": hi,
            "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "world"}],
            "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "world v6"}]}])
        return sg

    def world_grants(self, bucket, uri=ALL_USERS):
        acl = self.m["s3"].get_bucket_acl(Bucket=bucket)
        return [g for g in acl["Grants"] if g["Grantee"].get("URI") == uri]

    def world_reaches(self, sg, port):
        g = self.m["ec2"].describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]
        for p in g["IpPermissions"]:
            proto = p.get("IpProtocol")
            world = any(r.get("CidrIp") == "0.0.0.0/0" for r in p.get("IpRanges", [])) or \
                any(r.get("CidrIpv6") == "::/0" for r in p.get("Ipv6Ranges", []))
            if world and (proto == "-1" or (proto == "tcp" and p.get("FromPort", 0) <= port <= p.get("ToPort", -1))):
                return True
        return False

    def message(self, rule, resource):
        service = rule.split("-")[0]
        region = "global" if service == "S3" else REGION
        now = int(time.time() * 1000)
        # As Conformity sends it: its own account id in `accountId`, `id` and the `ccrn`, the AWS
        # account in `cloudProviderId`.
        cc = "bench-acct"
        return {"organisationId": "bench", "accountId": cc, "cloudProviderId": ACCOUNT, "service": service,
                "region": region, "id": f"ccc:{cc}:{rule}:{service}:{region}:{resource}",
                "resource": resource, "ccrn": f"ccrn:aws:{cc}:{service}:{region}:{resource}", "ruleId": rule,
                "status": "FAILURE", "categories": ["security"], "riskLevel": "VERY_HIGH",
                "message": f"{resource} fails {rule}", "createdDate": now, "failureDiscoveryDate": now,
                "tags": [], "cost": None, "waste": None, "notScored": False}

    def deliveries(self):
        with urllib.request.urlopen(self.gw + "/_local/deliveries", timeout=10) as r:
            return json.load(r)

    def execution_for(self, message_id):
        for d in reversed(self.deliveries()):
            if d.get("message_id") == message_id:
                recs = d.get("result", {}).get("records", [])
                for r in recs:
                    if r.get("result") == "started":
                        return r["execution_arn"]
                raise RuntimeError(f"delivery {message_id} started nothing: {d}")
        raise RuntimeError(f"no delivery recorded for {message_id}")

    def wait(self, arn, poll=0.005, timeout=120):
        sfn = self.c["stepfunctions"]
        end = time.time() + timeout
        while True:
            d = sfn.describe_execution(executionArn=arn)
            if d["status"] != "RUNNING":
                return d
            if time.time() > end:
                raise RuntimeError(f"{arn} still RUNNING after {timeout} s")
            time.sleep(poll)

    def history(self, arn):
        sfn = self.c["stepfunctions"]
        events, token = [], None
        while True:
            kw = {"executionArn": arn, "maxResults": 1000}
            if token:
                kw["nextToken"] = token
            r = sfn.get_execution_history(**kw)
            events += r["events"]
            token = r.get("nextToken")
            if not token:
                return events

    def executions(self, sm_arn, status=None):
        sfn = self.c["stepfunctions"]
        out, token = [], None
        while True:
            kw = {"stateMachineArn": sm_arn, "maxResults": 1000}
            if status:
                kw["statusFilter"] = status
            if token:
                kw["nextToken"] = token
            r = sfn.list_executions(**kw)
            out += r["executions"]
            token = r.get("nextToken")
            if not token:
                return out


def entered_states(events):
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def task_durations(events):
    """Per Task state: entered → exited, in ms (what the state machine waited for the Lambda)."""
    out, entered = [], {}
    for e in events:
        if e["type"] == "TaskStateEntered":
            entered[e["stateEnteredEventDetails"]["name"]] = e["timestamp"]
        elif e["type"] == "TaskStateExited":
            name = e["stateExitedEventDetails"]["name"]
            if name in entered:
                out.append((name, (epoch(e["timestamp"]) - epoch(entered.pop(name))) * 1000))
    return out


# ---------------------------------------------------------------- 1. cold start of the artefact

class Cold:
    def __init__(self, stack, binary, seed, notes):
        self.stack, self.binary, self.seed, self.notes = stack, binary, seed, notes
        self.api = RuntimeApi().start()
        self.proxy = CountProxy(stack.moto).start()
        self.config = open(os.path.join(HERE, "config.json")).read()
        self.log = open(os.path.join(OUT, "cold-processes.log"), "w")
        self.templates = {}
        # the warm floor: boto3 clients straight on moto, used before (warm-up) and between runs
        self.warm = {s: stack.client(s, stack.moto) for s in ("s3", "ec2", "dynamodb")}
        self.ops = {}

    def close(self):
        self.api.stop()
        self.proxy.stop()
        self.log.close()

    # the execution input the trigger builds, as a template (one real execution per rule)
    def template(self, rule):
        if rule not in self.templates:
            res = self.new_resource(rule, "tmpl")
            msg = self.stack.message(rule, res)
            mid = self.stack.c["sns"].publish(TopicArn=self.stack.info["topic_arn"], Message=json.dumps(msg))["MessageId"]
            arn = self.stack.execution_for(mid)
            d = self.stack.wait(arn, poll=0.05)
            assert d["status"] == "SUCCEEDED", d
            self.templates[rule] = (json.loads(d["input"]), res, msg)
        return self.templates[rule]

    def new_resource(self, rule, tag):
        name = f"bc-{tag}-{uuid.uuid4().hex[:10]}"
        if rule.startswith("S3"):
            return self.stack.public_bucket(name)
        return self.stack.open_group(name, dict(PORT_RULES)[rule])

    def healed(self, rule, res):
        if rule.startswith("S3"):
            return not self.stack.world_grants(res)
        return not self.stack.world_reaches(res, dict(PORT_RULES)[rule])

    def remediate_payload(self, rule, res):
        tmpl, old, _ = self.template(rule)
        finding = json.loads(json.dumps(tmpl["finding"]).replace(old, res))
        # Classify's real answer for this resource (warm, in the gateway; not timed)
        r = self.stack.c["lambda"].invoke(FunctionName="auto-remediate-classify",
                                          Payload=json.dumps({"finding": finding}).encode())
        classification = json.loads(r["Payload"].read())
        if r.get("FunctionError") or classification.get("decision") != "auto":
            raise RuntimeError(f"classify for {res}: {classification}")
        state = dict(tmpl, finding=finding, classification=classification)
        name = f"bench-cold-{uuid.uuid4().hex[:12]}"
        return {"execution": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:auto-remediate:{name}", "state": state}

    def ours(self, rule, endpoint=None):
        res = self.new_resource(rule, "ours")
        payload = self.remediate_payload(rule, res)
        run = self.api.expect(payload)
        env = {
            "PATH": "/usr/bin:/bin", "_HANDLER": "remediate", "LAMBDA_TASK_ROOT": os.path.dirname(self.binary),
            "AWS_LAMBDA_RUNTIME_API": self.api.address, "AWS_LAMBDA_FUNCTION_NAME": "auto-remediate-remediate",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/auto-remediate-remediate",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench", "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "test",
            "AWS_ENDPOINT_URL": endpoint or self.stack.moto, "AUTO_REMEDIATE_ACCOUNT_ID": ACCOUNT,
            "AUTO_REMEDIATE_CONFIG": self.config, "STATE_TABLE": STATE_TABLE, "APPROVAL_TABLE": APPROVAL_TABLE,
        }
        t0 = time.perf_counter()
        p = spawn([self.binary], env=env, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        ok = run.done.wait(60)
        hwm = vm_hwm_kb(p.pid)
        p.kill()
        p.wait()
        CHILDREN.remove(p)
        if not ok or run.error is not None or run.next_at is None:
            raise RuntimeError(f"cold Remediate for {res} failed: {run.error or 'no response in 60 s'}")
        out = json.loads(run.response)
        if out.get("outcome") != "remediated":
            raise RuntimeError(f"cold Remediate for {res}: {out.get('outcome')}: {out.get('reason')}")
        return {"total_ms": (run.response_at - t0) * 1000, "startup_ms": (run.next_at - t0) * 1000,
                "handler_ms": (run.response_at - run.next_at) * 1000, "rss_kb": hwm,
                "healed": self.healed(rule, res)}

    def seed_run(self, rule, endpoint=None):
        res = self.new_resource(rule, "seed")
        _, _, msg = self.template(rule)
        event = json.loads(json.dumps(msg).replace(msg["resource"], res))
        handler = os.path.join(self.seed["dir"], "functions", f"AutoRemediate{rule}.js")
        env = {"PATH": os.environ["PATH"], "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
               "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "test",
               "AWS_ENDPOINT_URL": endpoint or self.stack.moto, "NODE_ENV": "production",
               "AWS_LAMBDA_FUNCTION_NAME": f"seed-{rule}", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}
        q = queue.Queue()
        t0 = time.perf_counter()
        p = spawn(["node", os.path.join(HERE, "seed_invoke.js"), handler, json.dumps(event)], env=env,
                  stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)

        def read():
            for line in p.stdout:
                if line.startswith(b"@@BENCH "):
                    q.put((time.perf_counter(), line.decode().split(" ", 2)[1:]))
        threading.Thread(target=read, daemon=True).start()
        marks = {}
        result = None
        try:
            while True:
                at, (what, *rest) = q.get(timeout=60)
                marks[what.strip()] = at
                if what.strip() == "result":
                    result = json.loads(rest[0])
                    break
        except queue.Empty:
            raise RuntimeError(f"seed {rule} gave no result in 60 s")
        finally:
            hwm = vm_hwm_kb(p.pid)
            p.kill()
            p.wait()
            CHILDREN.remove(p)
        return {"total_ms": (marks["result"] - t0) * 1000, "startup_ms": (marks["start"] - t0) * 1000,
                "load_ms": (marks["loaded"] - marks["start"]) * 1000, "rss_kb": hwm, "result": result,
                "healed": self.healed(rule, res)}

    # The floor: the same AWS calls, in the same order, from warm boto3 clients in this process.
    def floor(self, rule):
        res = self.new_resource(rule, "floor")
        ops = self.ops[rule]
        s3, ec2, ddb = self.warm["s3"], self.warm["ec2"], self.warm["dynamodb"]
        ctx = {}
        key = {"pk": {"S": f"bench-floor#{res}"}}
        t0 = time.perf_counter()
        for service, op in ops:
            if (service, op) == ("s3", "GetBucketLocation"):
                s3.get_bucket_location(Bucket=res)
            elif (service, op) == ("s3", "GetBucketTagging"):
                try:
                    s3.get_bucket_tagging(Bucket=res)
                except ClientError:
                    pass
            elif (service, op) == ("s3", "GetBucketAcl"):
                ctx["acl"] = s3.get_bucket_acl(Bucket=res)
            elif (service, op) == ("s3", "PutBucketAcl"):
                acl = ctx["acl"]
                s3.put_bucket_acl(Bucket=res, AccessControlPolicy={
                    "Owner": acl["Owner"], "Grants": [g for g in acl["Grants"] if g["Grantee"].get("URI") != ALL_USERS]})
            elif (service, op) == ("dynamodb", "GetItem"):
                ddb.get_item(TableName=STATE_TABLE, Key=key, ConsistentRead=True)
            elif (service, op) == ("dynamodb", "PutItem"):
                ddb.put_item(TableName=STATE_TABLE, Item=dict(key, expires_at={"N": str(int(time.time()) + 150)}))
            elif (service, op) == ("dynamodb", "DeleteItem"):
                ddb.delete_item(TableName=STATE_TABLE, Key=key)
            elif (service, op) == ("ec2", "DescribeSecurityGroups"):
                ctx["sg"] = ec2.describe_security_groups(GroupIds=[res])["SecurityGroups"][0]
            elif (service, op) == ("ec2", "DescribeSecurityGroupRules"):
                ctx["rules"] = ec2.describe_security_group_rules(
                    Filters=[{"Name": "group-id", "Values": [res]}])["SecurityGroupRules"]
            elif (service, op) == ("ec2", "RevokeSecurityGroupIngress"):
                port = dict(PORT_RULES)[rule]
                ids = [r["SecurityGroupRuleId"] for r in ctx.get("rules", []) if not r.get("IsEgress")
                       and r.get("FromPort", -1) <= port <= r.get("ToPort", -2)
                       and (r.get("CidrIpv4") == "0.0.0.0/0" or r.get("CidrIpv6") == "::/0")]
                done = ctx.setdefault("revoked", [])
                todo = [i for i in ids if i not in done]
                # ours revokes in as many calls as counted; the floor spreads the ids the same way
                n_calls = sum(1 for o in ops if o == (service, op))
                take = todo[:max(1, math.ceil(len(ids) / n_calls))] if todo else []
                if take:
                    ec2.revoke_security_group_ingress(GroupId=res, SecurityGroupRuleIds=take)
                    done += take
            else:
                raise RuntimeError(f"the floor has no boto3 call for {service}:{op}")
        total = (time.perf_counter() - t0) * 1000
        return {"total_ms": total, "healed": self.healed(rule, res)}

    def count_calls(self, rule):
        """Every AWS call of one cold Remediate (ours) and one seed run, through the counting proxy."""
        self.proxy.take()
        self.ours(rule, endpoint=self.proxy.url)
        ours = self.proxy.take()
        seed = None
        if self.seed:
            self.seed_run(rule, endpoint=self.proxy.url)
            seed = self.proxy.take()
        self.ops[rule] = [(c["service"], c["operation"]) for c in ours]
        return ours, seed

    def run(self, rules, runs, warmup):
        results = {}
        for rule in rules:
            self.template(rule)
            ours_calls, seed_calls = self.count_calls(rule)
            explained = [dict(c, why=why(c, ours_calls[:i])[0], needed=why(c, ours_calls[:i])[1])
                         for i, c in enumerate(ours_calls)]
            unknown = [f"{c['service']}:{c['operation']}" for c in explained if c["needed"] is None]
            if unknown:
                self.notes.append(f"{rule}: no reason on file in bench.py's WHY for {unknown}")
            samples = {"ours": [], "floor": [], "seed": []}
            kinds = ["ours", "floor"] + (["seed"] if self.seed else [])
            floor_ok = True
            for i in range(warmup + runs):
                order = kinds[i % len(kinds):] + kinds[:i % len(kinds)]  # rotate who goes first
                for kind in order:
                    if kind == "floor" and not floor_ok:
                        continue
                    try:
                        r = {"ours": self.ours, "floor": self.floor, "seed": self.seed_run}[kind](rule)
                    except RuntimeError as e:
                        if kind == "floor":
                            floor_ok = False
                            self.notes.append(f"{rule}: floor skipped: {e}")
                            continue
                        raise
                    if i >= warmup:
                        samples[kind].append(r)
                log(f"bench: cold {rule} {i + 1}/{warmup + runs}" + (" (warm-up)" if i < warmup else ""))
            results[rule] = {
                "ours": {"total": summary([s["total_ms"] for s in samples["ours"]]),
                         "startup": summary([s["startup_ms"] for s in samples["ours"]]),
                         "handler": summary([s["handler_ms"] for s in samples["ours"]]),
                         "rss_kb": summary([s["rss_kb"] for s in samples["ours"]]),
                         "healed": sum(s["healed"] for s in samples["ours"])},
                "floor": {"total": summary([s["total_ms"] for s in samples["floor"]]),
                          "healed": sum(s["healed"] for s in samples["floor"])},
                "seed": None if not samples["seed"] else {
                    "total": summary([s["total_ms"] for s in samples["seed"]]),
                    "startup": summary([s["startup_ms"] for s in samples["seed"]]),
                    "load": summary([s["load_ms"] for s in samples["seed"]]),
                    "rss_kb": summary([s["rss_kb"] for s in samples["seed"]]),
                    "healed": sum(s["healed"] for s in samples["seed"]),
                    "results": sorted({json.dumps(s["result"]) for s in samples["seed"]})},
                "calls": {"ours": explained, "seed": seed_calls},
                "samples": samples,
            }
            o, s = results[rule]["ours"]["total"], (results[rule]["seed"] or {}).get("total")
            results[rule]["ratio_ours_seed"] = (o["median"] / s["median"]) if s else None
        return results


# ---------------------------------------------------------------- 2. end to end, and its no-op floor

def e2e(stack, n, warmup, notes):
    sns, sfn = stack.c["sns"], stack.c["stepfunctions"]
    topic = stack.info["topic_arn"]
    # a template execution input (the trigger's) for the floor's executions
    tmpl_bucket = stack.public_bucket(f"be-tmpl-{uuid.uuid4().hex[:8]}")
    mid = sns.publish(TopicArn=topic, Message=json.dumps(stack.message("S3-001", tmpl_bucket)))["MessageId"]
    tmpl_arn = stack.execution_for(mid)
    d = stack.wait(tmpl_arn, poll=0.05)
    tmpl_input = json.loads(d["input"])
    ours_path = entered_states(stack.history(tmpl_arn))
    asl = open(os.path.join(ROOT, "statemachines", "remediation.asl.json")).read()
    definition, path, canned = derive_noop(asl, REGION, tmpl_input, target="Healed")
    floor_sm = sfn.create_state_machine(name=f"bench-noop-floor-{uuid.uuid4().hex[:6]}", definition=definition,
                                        roleArn=f"arn:aws:iam::{ACCOUNT}:role/bench")["stateMachineArn"]
    floor_topic = sns.create_topic(Name="bench-floor-publish")["TopicArn"]  # no subscriber
    ours, floor, ours_arns, floor_arns, publish_ms = [], [], [], [], []
    for i in range(warmup + n):
        for kind in (["ours", "floor"] if i % 2 == 0 else ["floor", "ours"]):
            bucket = stack.public_bucket(f"be-{kind[0]}-{i}-{uuid.uuid4().hex[:6]}")
            msg = json.dumps(stack.message("S3-001", bucket))
            if kind == "ours":
                t0 = time.perf_counter()
                mid = sns.publish(TopicArn=topic, Message=msg)["MessageId"]
                t_pub = time.perf_counter()
                arn = stack.execution_for(mid)
                d = stack.wait(arn)
                dt = (time.perf_counter() - t0) * 1000
                if i >= warmup:
                    ours.append(dt)
                    ours_arns.append((arn, bucket))
                    publish_ms.append((t_pub - t0) * 1000)
            else:
                inp = json.loads(json.dumps(tmpl_input).replace(tmpl_bucket, bucket))
                t0 = time.perf_counter()
                sns.publish(TopicArn=floor_topic, Message=msg)
                arn = sfn.start_execution(stateMachineArn=floor_sm, name=f"floor-{i}-{uuid.uuid4().hex[:8]}",
                                          input=json.dumps(inp))["executionArn"]
                d = stack.wait(arn)
                dt = (time.perf_counter() - t0) * 1000
                if i >= warmup:
                    floor.append(dt)
                    floor_arns.append(arn)
            if d["status"] != "SUCCEEDED":
                raise RuntimeError(f"e2e {kind} {arn}: {d['status']}")
        if (i + 1) % 20 == 0:
            log(f"bench: e2e {i + 1}/{warmup + n}")
    # every one of ours verified: Healed entered, and the bucket re-read
    healed, transitions, durations = 0, [], {}
    for arn, bucket in ours_arns:
        ev = stack.history(arn)
        states = entered_states(ev)
        transitions.append(len(states))
        if "Healed" in states and not stack.world_grants(bucket):
            healed += 1
        for state, ms in task_durations(ev):
            durations.setdefault(state, []).append(ms)
    floor_paths = {tuple(entered_states(stack.history(a))) for a in floor_arns[:5]}
    same_path = floor_paths == {tuple(ours_path)}
    if not same_path:
        notes.append(f"e2e: the no-op floor took {floor_paths}, ours {ours_path}")
    return {
        "ours": summary(ours), "floor": summary(floor), "publish_ms": summary(publish_ms),
        "ratio_p50": statistics.median(ours) / statistics.median(floor),
        "healed": healed, "n": n, "ours_path": ours_path, "floor_path": list(next(iter(floor_paths))),
        "same_path": same_path, "floor_canned": {k: v for k, v in canned.items() if k in path},
        "transitions_auto": summary(transitions),
        "task_ms": {k: summary(v) for k, v in durations.items()},
        "samples": {"ours": ours, "floor": floor},
    }


# ---------------------------------------------------------------- 4. transitions per kind

def kinds(stack, notes):
    sns = stack.c["sns"]
    topic = stack.info["topic_arn"]
    out = {}

    def run(rule, bucket, approve=False):
        mid = sns.publish(TopicArn=topic, Message=json.dumps(stack.message(rule, bucket)))["MessageId"]
        try:
            arn = stack.execution_for(mid)
        except RuntimeError as e:
            return {"transitions": 0, "states": [], "lambda_tasks": 0, "note": f"the trigger started nothing: {e}"}
        if approve:
            link = approval_link(stack, bucket)
            base, q = link.split("?", 1)
            req = urllib.request.Request(base, data=q.encode(), method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            with urllib.request.urlopen(req, timeout=30) as r:
                r.read()
        d = stack.wait(arn, poll=0.05, timeout=120)
        ev = stack.history(arn)
        states = entered_states(ev)
        return {"status": d["status"], "transitions": len(states), "states": states,
                "lambda_tasks": sum(1 for e in ev if e["type"] in ("LambdaFunctionScheduled", "TaskScheduled"))}

    out["auto"] = run("S3-001", stack.public_bucket(f"bk-auto-{uuid.uuid4().hex[:8]}"))
    b = f"bk-dry-{uuid.uuid4().hex[:8]}"
    stack.m["s3"].create_bucket(Bucket=b)
    out["dry-run"] = run("S3-012", b)
    b = f"bk-skip-{uuid.uuid4().hex[:8]}"
    stack.m["s3"].create_bucket(Bucket=b)
    out["skip"] = run("S3-016", b)
    out["approve"] = run("S3-006", stack.public_bucket(f"bk-appr-{uuid.uuid4().hex[:8]}", acl="authenticated-read"),
                         approve=True)
    return out


def approval_link(stack, resource, timeout=60):
    outbox = stack.info["outbox_dir"]
    end = time.time() + timeout
    while time.time() < end:
        for f in sorted(os.listdir(outbox)) if os.path.isdir(outbox) else []:
            if not f.endswith(".eml"):
                continue
            text = open(os.path.join(outbox, f)).read()
            if resource in text:
                for line in text.splitlines():
                    if line.startswith("Review and approve: "):
                        return line.split(": ", 1)[1].strip()
        time.sleep(0.1)
    raise RuntimeError(f"no approval e-mail about {resource}")


# ---------------------------------------------------------------- 3. bursts

def publish_many(stack, messages, threads=16):
    topic = stack.info["topic_arn"]
    local = threading.local()

    def one(m):
        if not hasattr(local, "sns"):
            local.sns = stack.client("sns", stack.gw)
        return local.sns.publish(TopicArn=topic, Message=json.dumps(m))["MessageId"]
    with cf.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, messages))


def settle(stack, tag, timeout):
    """Waits until no execution whose name holds `tag` runs; returns them all. (SNS delivers to the
    trigger synchronously: when every publish has returned, every execution has been started.)"""
    sm = stack.info["state_machine_arn"]
    end = time.time() + timeout
    while any(tag in e["name"] for e in stack.executions(sm, "RUNNING")):
        if time.time() > end:
            raise RuntimeError(f"executions of {tag} still running after {timeout} s")
        time.sleep(1)
    return [e for e in stack.executions(sm) if tag in e["name"]]


def healed_all(stack, execs, threads=8):
    def one(e):
        return "Healed" in entered_states(stack.history(e["executionArn"]))
    with cf.ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(one, execs))


def bursts(stack, n_distinct, n_dups, dup_distinct, notes):
    out = {}
    # 3a. n distinct findings
    tag = f"b{uuid.uuid4().hex[:5]}"
    buckets = [f"{tag}-{i}" for i in range(n_distinct)]
    with cf.ThreadPoolExecutor(8) as pool:
        s3s = threading.local()

        def mk(b):
            if not hasattr(s3s, "c"):
                s3s.c = stack.client("s3", stack.moto)
            s3s.c.create_bucket(Bucket=b)
            s3s.c.put_bucket_acl(Bucket=b, ACL="public-read")
        list(pool.map(mk, buckets))
    log(f"bench: burst: {n_distinct} buckets made, publishing")
    t0 = time.time()
    publish_many(stack, [stack.message("S3-001", b) for b in buckets])
    t_pub = time.time() - t0
    execs = settle(stack, tag, timeout=max(900, n_distinct))
    per_resource = {}
    for e in execs:
        per_resource.setdefault(resource_in(e["name"], buckets), []).append(e)
    lost = [b for b in buckets if b not in per_resource]
    dup = [b for b, es in per_resource.items() if len(es) > 1]
    ok = [e for e in execs if e["status"] == "SUCCEEDED"]
    last = max((epoch(e["stopDate"]) for e in execs if e.get("stopDate")), default=time.time())
    log(f"bench: burst: {len(execs)} executions ended, checking histories and buckets")
    healed = healed_all(stack, ok)

    def still_public(b):
        return bool(stack.world_grants(b))
    with cf.ThreadPoolExecutor(8) as pool:
        public = sum(pool.map(still_public, buckets))
    out["distinct"] = {"findings": n_distinct, "executions": len(execs), "succeeded": len(ok), "healed": healed,
                       "still_public": public, "lost": len(lost), "duplicated": len(dup),
                       "publish_s": t_pub, "to_last_heal_s": last - t0,
                       "throughput_per_s": n_distinct / (last - t0),
                       "statuses": _count(e["status"] for e in execs)}
    # 3b. duplicate deliveries: n_dups deliveries of dup_distinct findings, shuffled, concurrent
    tag = f"d{uuid.uuid4().hex[:5]}"
    dbuckets = [stack.public_bucket(f"{tag}-{i}") for i in range(dup_distinct)]
    msgs = {b: stack.message("S3-001", b) for b in dbuckets}  # one message per finding, delivered many times
    deliveries = [msgs[dbuckets[i % dup_distinct]] for i in range(n_dups)]
    random.Random(7).shuffle(deliveries)
    log(f"bench: burst: {n_dups} deliveries of {dup_distinct} findings")
    t0 = time.time()
    publish_many(stack, deliveries)
    execs = settle(stack, tag, timeout=900)
    ok = [e for e in execs if e["status"] == "SUCCEEDED"]
    last = max((epoch(e["stopDate"]) for e in execs if e.get("stopDate")), default=time.time())
    out["duplicates"] = {"deliveries": n_dups, "distinct": dup_distinct, "executions": len(execs),
                         "healed": healed_all(stack, ok), "still_public": sum(bool(stack.world_grants(b)) for b in dbuckets),
                         "to_last_heal_s": last - t0}
    # 3c. 11 findings on one fully open group
    sg = stack.open_group(f"bench-open-{uuid.uuid4().hex[:8]}", all_ports=True)
    log(f"bench: burst: 11 port findings on {sg}")
    t0 = time.time()
    publish_many(stack, [stack.message(r, sg) for r, _ in PORT_RULES], threads=11)
    execs = settle(stack, sg, timeout=900)
    ok = [e for e in execs if e["status"] == "SUCCEEDED"]
    last = max((epoch(e["stopDate"]) for e in execs if e.get("stopDate")), default=time.time())
    open_ports = [p for _, p in PORT_RULES if stack.world_reaches(sg, p)]
    sample_other = [p for p in (80, 443, 8080, 21, 24, 26, 3307) if not stack.world_reaches(sg, p)]
    waits = 0
    for e in execs:
        waits += entered_states(stack.history(e["executionArn"])).count("WaitForResource")
    out["one_group"] = {"findings": len(PORT_RULES), "executions": len(execs), "succeeded": len(ok),
                        "healed": healed_all(stack, ok), "ports_left_open": open_ports,
                        "other_ports_wrongly_closed": sample_other, "to_last_heal_s": last - t0,
                        "lease_waits": waits}
    return out


def resource_in(name, resources):
    # execution names carry the resource; the longest match wins (b-1 vs b-10)
    best = ""
    for r in resources:
        if r in name and len(r) > len(best):
            best = r
    return best


def _count(xs):
    out = {}
    for x in xs:
        out[x] = out.get(x, 0) + 1
    return out


# ---------------------------------------------------------------- 4b. cost

def infra_memory():
    text = open(os.path.join(ROOT, "infra", "main.tf")).read()
    mem = {}
    for m in re.finditer(r'^\s{4}"?([a-z-]+)"?\s*=\s*\{[^{}]*?memory\s*=\s*(\d+)', text, re.M | re.S):
        mem[m.group(1)] = int(m.group(2))
    arch = re.search(r'variable "architecture".*?default\s*=\s*"([^"]+)"',
                     open(os.path.join(ROOT, "infra", "variables.tf")).read(), re.S)
    return mem, arch.group(1) if arch else "arm64"


def cost(kinds_out, e2e_out, cold_out):
    mem, arch = infra_memory()
    price_gb_s = PRICES["lambda_gb_s"][arch]
    auto = kinds_out["auto"]
    transitions = auto["transitions"]
    sfn = transitions * 1000 * PRICES["sfn_standard_per_transition"]
    # invocations per remediation: the trigger, then each Lambda task of the auto path
    task_ms = {k: v["median"] for k, v in e2e_out["task_ms"].items()}
    trigger_ms = e2e_out["publish_ms"]["median"]  # upper bound: SNS publish round trip incl. the trigger
    invocations = [("trigger", "trigger", trigger_ms)]
    state_to_fn = {"Classify": "classify", "Remediate": "remediate", "Verify": "verify",
                   "RequestApproval": "request-approval"}
    for state, ms in task_ms.items():
        fn = state_to_fn.get(state, "notify" if state.startswith("Notify") else state.lower())
        invocations.append((state, fn, ms))
    gb_s = sum(mem.get(fn, 256) / 1024 * math.ceil(ms) / 1000 for _, fn, ms in invocations)
    requests = len(invocations)
    lam = 1000 * (requests * PRICES["lambda_request"] + gb_s * price_gb_s)
    startup = statistics.median([r["ours"]["startup"]["median"] for r in cold_out.values()]) if cold_out else 0
    gb_s_cold = sum(mem.get(fn, 256) / 1024 * math.ceil(ms + startup) / 1000 for _, fn, ms in invocations)
    lam_cold = 1000 * (requests * PRICES["lambda_request"] + gb_s_cold * price_gb_s)
    return {"architecture": arch, "memory_mb": mem, "transitions_auto": transitions,
            "invocations": [{"state": s, "function": f, "ms": ms} for s, f, ms in invocations],
            "sfn_per_1000": sfn, "lambda_per_1000": lam, "lambda_per_1000_all_cold": lam_cold,
            "total_per_1000": sfn + lam, "prices": PRICES, "cold_init_ms_added": startup}


# ---------------------------------------------------------------- report

def verdicts(res):
    rows = []

    def add(target, met, measured):
        rows.append({"target": target, "met": met, "measured": measured})
    cold = res.get("cold") or {}
    for rule, c in cold.items():
        r = c.get("ratio_ours_seed")
        add(f"{rule}: Remediate in a fresh process ≤ 1/20 of the seed's median",
            None if r is None else r <= 0.05,
            "seed not measured" if r is None else
            f"ours {c['ours']['total']['median']:.1f} ms / seed {c['seed']['total']['median']:.1f} ms = {r:.3f} (1/{1 / r:.1f})")
    if cold:
        st = max(c["ours"]["startup"]["median"] for c in cold.values())
        add("start-up (exec → first /next) < 5 ms", st < 5,
            "; ".join(f"{k} median {c['ours']['startup']['median']:.2f} ms" for k, c in cold.items()))
        rss = max(c["ours"]["rss_kb"]["max"] for c in cold.values())
        add("peak RSS (VmHWM) < 12 MB, every run", rss < 12 * 1024,
            "; ".join(f"{k} median {c['ours']['rss_kb']['median'] / 1024:.1f} MB, max {c['ours']['rss_kb']['max'] / 1024:.1f} MB"
                      for k, c in cold.items()))
        extra = {k: [x["operation"] for x in c["calls"]["ours"] if not x["needed"]] for k, c in cold.items()}

        def count(c, kind):
            return sum(1 for x in c["calls"]["ours"] if x["needed"] == kind)
        add("no AWS call on the hot path the outcome does not need (each listed with why)",
            all(not v for v in extra.values()),
            "; ".join(f"{k}: {len(c['calls']['ours'])} calls: {count(c, 'fix')} for the fix, {count(c, 'safety')} for "
                      f"safety (lease, journal, live exclusion tags), not needed: {', '.join(extra[k]) or 'none'}"
                      for k, c in cold.items()))
    e = res.get("e2e")
    if e:
        add("publish → verified p50 within 1.5× of the no-op workflow", e["ratio_p50"] <= 1.5,
            f"{e['ours']['median']:.0f} ms / {e['floor']['median']:.0f} ms = {e['ratio_p50']:.2f}×")
    b = (res.get("bursts") or {}).get("distinct")
    if b:
        ok = b["healed"] == b["findings"] and b["lost"] == 0 and b["duplicated"] == 0 and b["still_public"] == 0 \
            and b["executions"] == b["findings"]
        add(f"{b['findings']} distinct findings all healed, none lost or duplicated", ok,
            f"{b['executions']} executions, {b['healed']} Healed, {b['lost']} lost, {b['duplicated']} duplicated, "
            f"{b['still_public']} buckets still public; {b['throughput_per_s']:.1f} healed/s")
    k = res.get("kinds")
    if k:
        add("≤ 8 state transitions on the auto path", k["auto"]["transitions"] <= 8,
            f"{k['auto']['transitions']}: {' → '.join(k['auto']['states'])}")
    a = res.get("artefacts")
    if a and a["rows"]:
        best = min(a["rows"], key=lambda r: r["zip_bytes"])
        add("one artefact for every handler < 7 MB zipped", best["zip_bytes"] < 7_000_000,
            "; ".join(f"{r['arch']} {r['zip_bytes'] / 1e6:.2f} MB ({r['glibc']})" for r in a["rows"]))
    return rows


def render(res):
    L = []
    w = L.append
    w(f"# make bench — {res['started']} — commit {res['commit']} — {res['machine']}")
    w("")
    if res.get("cold"):
        w("## 1. Remediate in a fresh process (cold), against moto")
        w("| rule | what | ours: release bootstrap | floor: same calls, warm boto3 | seed: Conformity Node handler | ours/seed |")
        w("|---|---|---|---|---|---|")
        for rule, c in res["cold"].items():
            s = c["seed"] or {}
            ratio = c["ratio_ours_seed"]
            w(f"| {rule} | exec → result | {fmt_ms(c['ours']['total'])} | {fmt_ms(c['floor']['total'])} | "
              f"{fmt_ms(s.get('total'))} | {'n/a' if ratio is None else f'{ratio:.3f}'} |")
            w(f"| {rule} | start-up | exec → first /next {fmt_ms(c['ours']['startup'])} | – | "
              f"spawn → node running {fmt_ms(s.get('startup'))}; require handler+SDK {fmt_ms(s.get('load'))} | |")
            w(f"| {rule} | peak RSS (VmHWM) | {fmt_mb(c['ours']['rss_kb'])} | – | {fmt_mb(s.get('rss_kb'))} | |")
            w(f"| {rule} | healed (re-read) | {c['ours']['healed']}/{c['ours']['total']['n']} | "
              f"{c['floor']['healed']}/{(c['floor']['total'] or {}).get('n', 0)} | "
              f"{s.get('healed', 'n/a')}/{(s.get('total') or {}).get('n', 'n/a')} | |")
        w("")
        w("### AWS calls of one cold Remediate (counting proxy)")
        for rule, c in res["cold"].items():
            w(f"**{rule}**, ours ({len(c['calls']['ours'])} calls):")
            w("")
            w("| # | call | detail | needed for | why |")
            w("|---|---|---|---|---|")
            for i, x in enumerate(c["calls"]["ours"], 1):
                w(f"| {i} | {x['service']}:{x['operation']} | {x['detail']} | "
                  f"{NEEDED_FOR.get(x['needed'], '?')} | {x['why']} |")
            if c["calls"]["seed"] is not None:
                w("")
                w(f"seed ({len(c['calls']['seed'])} calls): " +
                  ", ".join(f"{x['service']}:{x['operation']} ({x['status']})" for x in c["calls"]["seed"]))
            w("")
    e = res.get("e2e")
    if e:
        w("## 2. End to end: publish → verified (SUCCEEDED through Healed)")
        w("| | p50 | p95 | min | max |")
        w("|---|---|---|---|---|")
        for k, label in (("ours", f"ours ({e['n']} S3-001 findings: SNS publish → trigger → execution Healed)"),
                         ("floor", "floor: same ASL, no-op tasks (publish to a topic without subscriber + StartExecution)")):
            s = e[k]
            w(f"| {label} | {s['median']:.0f} ms | {s['p95']:.0f} ms | {s['min']:.0f} ms | {s['max']:.0f} ms |")
        w(f"| ratio ours/floor (p50) | {e['ratio_p50']:.2f}× | | | |")
        w("")
        w(f"Path taken (both): {' → '.join(e['ours_path'])}; floor path identical: {e['same_path']}; "
          f"healed and re-read: {e['healed']}/{e['n']}. Task time inside ours (scheduled → succeeded, median): " +
          ", ".join(f"{k} {v['median']:.0f} ms" for k, v in e["task_ms"].items()))
        w("")
    if res.get("gateway_peak_rss_kb"):
        w(f"The local gateway (every handler in-process, release build) peaked at "
          f"{res['gateway_peak_rss_kb'] / 1024:.1f} MB RSS over the whole run.")
        w("")
    b = res.get("bursts")
    if b:
        d, u, g = b["distinct"], b["duplicates"], b["one_group"]
        w("## 3. Bursts")
        w("| burst | result |")
        w("|---|---|")
        w(f"| {d['findings']} distinct S3-001 findings, 16 publishers | {d['executions']} executions, {d['healed']} Healed, "
          f"{d['lost']} lost, {d['duplicated']} duplicated, {d['still_public']} still public; last healed "
          f"{d['to_last_heal_s']:.1f} s after the first publish: {d['throughput_per_s']:.1f} healed/s |")
        w(f"| {u['deliveries']} deliveries of {u['distinct']} findings (shuffled, concurrent) | {u['executions']} executions "
          f"(expected exactly {u['distinct']}), {u['healed']} Healed, {u['still_public']} still public; "
          f"last healed after {u['to_last_heal_s']:.1f} s |")
        w(f"| 11 port findings on one group open on tcp 0-65535 (v4+v6) | {g['executions']} executions, {g['healed']} Healed, "
          f"ports left open: {g['ports_left_open'] or 'none'}, other ports wrongly closed: "
          f"{g['other_ports_wrongly_closed'] or 'none'}; last healed after {g['to_last_heal_s']:.1f} s "
          f"({g['lease_waits']} lease waits) |")
        w("")
    k = res.get("kinds")
    if k:
        c = res["cost"]
        w("## 4. State transitions and cost")
        w("| kind | transitions | Lambda tasks | states |")
        w("|---|---|---|---|")
        for kind, r in k.items():
            w(f"| {kind} | {r['transitions']} | {r['lambda_tasks']} | {' → '.join(r['states']) or r.get('note', '')} |")
        w("")
        w(f"Per 1,000 auto remediations: Step Functions {c['transitions_auto']} transitions × $0.025/1,000 = "
          f"**${c['sfn_per_1000']:.3f}**; Lambda ({c['architecture']}, memory from infra/main.tf "
          f"{sorted(set(c['memory_mb'].values()))} MB, {len(c['invocations'])} invocations: " +
          ", ".join(f"{i['function']} {i['ms']:.0f} ms" for i in c["invocations"]) +
          f") = **${c['lambda_per_1000']:.4f}** (every invocation cold, +{c['cold_init_ms_added']:.1f} ms each: "
          f"${c['lambda_per_1000_all_cold']:.4f}); total **${c['total_per_1000']:.3f}**. Prices: Step Functions standard "
          f"$0.025 per 1,000 transitions; Lambda $0.20 per 1M requests, "
          f"${PRICES['lambda_gb_s']['arm64']:.10f}/GB-s arm64, ${PRICES['lambda_gb_s']['x86_64']:.10f}/GB-s x86_64 "
          f"({PRICES['source']}); durations are the local stack's, billed rounded up to 1 ms.")
        w("")
    a = res.get("artefacts")
    if a:
        w("## 5. Artefacts (local/check_package.py)")
        w("| arch | zip | binary | highest GLIBC |")
        w("|---|---|---|---|")
        for r in a["rows"]:
            w(f"| {r['arch']} | {r['zip_bytes'] / 1e6:.2f} MB | {r['binary_mb']:.1f} MB | {r['glibc']} |")
        if res.get("seed") and res["seed"].get("dir_bytes"):
            w(f"| seed (functions + production node_modules, unzipped) | – | {res['seed']['dir_bytes'] / 1e6:.1f} MB | – |")
        w("")
    w("## Targets")
    w("| target | met | measured |")
    w("|---|---|---|")
    for v in res["verdicts"]:
        w(f"| {v['target']} | {'n/a' if v['met'] is None else ('yes' if v['met'] else '**no**')} | {v['measured']} |")
    w("")
    if res["notes"]:
        w("Notes:")
        for n in res["notes"]:
            w(f"- {n}")
    w(f"\nWall time of this run: {res['wall_s']:.0f} s.")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 30)))
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--e2e", type=int, default=int(os.environ.get("BENCH_E2E", 100)))
    ap.add_argument("--burst", type=int, default=int(os.environ.get("BENCH_BURST", 1000)))
    ap.add_argument("--dups", type=int, default=int(os.environ.get("BENCH_DUPS", 1000)))
    ap.add_argument("--dup-distinct", type=int, default=50)
    ap.add_argument("--only", default="cold,e2e,cost,burst")
    ap.add_argument("--port", type=int, default=int(os.environ.get("BENCH_GATEWAY_PORT", 4700)))
    ap.add_argument("--seed-repo", default=os.environ.get("SEED_REPO") or None,
                    help="the seed's git directory (default: $SEED_REPO; none: the seed column is skipped)")
    args = ap.parse_args()
    only = set(args.only.split(","))
    os.makedirs(OUT, exist_ok=True)
    start = time.time()
    notes = []
    res = {"started": now_iso(), "notes": notes, "args": vars(args),
           "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                    text=True).stdout.strip() +
           (" (+ uncommitted changes)" if subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                                         cwd=ROOT, capture_output=True, text=True).stdout.strip() else ""),
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start"}
    zip_path, gateway, binary, builds = ensure_artefacts(notes)
    res["builds"] = builds
    res["artefacts"] = artefacts() if os.path.exists(zip_path) else None
    res["seed"] = prepare_seed(args.seed_repo, notes) if "cold" in only else None
    stack = Stack(os.path.relpath(gateway, ROOT), args.port)

    def on_signal(sig, _frame):
        raise SystemExit(f"bench: stopped by signal {sig}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    cold = None
    try:
        stack.up()
        if "cold" in only:
            cold = Cold(stack, binary, res["seed"], notes)
            try:
                res["cold"] = cold.run(["S3-001", "EC2-002"], args.runs, args.warmup)
            finally:
                cold.close()
        if "e2e" in only or "cost" in only:
            res["e2e"] = e2e(stack, args.e2e, args.warmup, notes)
        if "cost" in only:
            res["kinds"] = kinds(stack, notes)
            res["cost"] = cost(res["kinds"], res["e2e"], res.get("cold"))
        if "burst" in only:
            res["bursts"] = bursts(stack, args.burst, args.dups, args.dup_distinct, notes)
        gw_pid = stack.info.get("gateway_pid")
        res["gateway_peak_rss_kb"] = vm_hwm_kb(gw_pid) if gw_pid else None
    finally:
        end_children()
        stack.down()
    res["wall_s"] = time.time() - start
    res["verdicts"] = verdicts(res)
    table = render(res)
    stamp = res["started"].replace(":", "").replace("-", "")
    for name in (f"bench-{stamp}.json", "latest.json"):
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(res, f, indent=1, default=str)
    for name in (f"bench-{stamp}.md", "latest.md"):
        with open(os.path.join(OUT, name), "w") as f:
            f.write(table + "\n")
    print(table)
    log(f"bench: written to target/bench/latest.md and latest.json (and bench-{stamp}.*)")


if __name__ == "__main__":
    main()
