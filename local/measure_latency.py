"""Publish → SUCCEEDED latency on the running local stack, and the gateway's memory.

    make local-up && .venv/bin/python local/measure_latency.py [N] && make local-down

Each run: a bucket with an AllUsers READ grant, one S3-001 FAILURE published to the topic, timed
until its execution is SUCCEEDED (polled every 5 ms). Prints median, p95 and max, and the
gateway's current and peak RSS. (The benchmark proper, beside a no-op workflow and the
Conformity project's own handlers, is `make bench`: bench/bench.py, docs/bench.md.)
"""
import json, os, statistics, sys, time

import boto3

stack_dir = os.environ.get("STACK_DIR", ".local")
info = json.load(open(os.path.join(stack_dir, "stack.json")))
kw = dict(endpoint_url=info["endpoint_url"], region_name=info["region"],
          aws_access_key_id="test", aws_secret_access_key="test")
s3, sns, sfn = boto3.client("s3", **kw), boto3.client("sns", **kw), boto3.client("stepfunctions", **kw)
n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
sm = info["state_machine_arn"]
times = []
for i in range(n + 2):  # two warm-ups
    bucket = f"latency-{int(time.time() * 1000)}-{i}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    msg = {"service": "S3", "region": "global", "id": f"lat-{bucket}", "resource": bucket,
           "accountId": "latency", "cloudProviderId": info["account_id"],
           "ccrn": f"ccrn:aws:latency:S3:global:{bucket}", "ruleId": "S3-001",
           "status": "FAILURE", "failureDiscoveryDate": int(time.time() * 1000)}
    t0 = time.perf_counter()
    sns.publish(TopicArn=info["topic_arn"], Message=json.dumps(msg))
    arn = None
    while True:
        if arn is None:
            execs = sfn.list_executions(stateMachineArn=sm, maxResults=1000)["executions"]
            arn = next((e["executionArn"] for e in execs if bucket in e["name"]), None)
        if arn:
            status = sfn.describe_execution(executionArn=arn)["status"]
            if status != "RUNNING":
                break
        time.sleep(0.005)
    dt = (time.perf_counter() - t0) * 1000
    assert status == "SUCCEEDED", status
    if i >= 2:
        times.append(dt)
times.sort()
p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
print(f"publish → SUCCEEDED over {n} runs: median {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, max {times[-1]:.0f} ms")
pid = json.load(open(os.path.join(stack_dir, "stack.json")))["gateway_pid"]
status = open(f"/proc/{pid}/status").read()
rss = {l.split(":")[0]: l.split(":")[1].strip() for l in status.splitlines() if l.startswith(("VmRSS", "VmHWM"))}
print(f"gateway RSS {rss['VmRSS']}, peak {rss['VmHWM']}")
