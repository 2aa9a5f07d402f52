"""The engine's side of a sharded apply, checked: the Dockerfile, the Kubernetes Indexed Job and the AWS Batch array
job (python3 -m pytest -q scripts/test_deploy.py; make test runs it). No cluster and no AWS here: the manifests are
parsed, their required fields and their wiring checked (the index variable, the worker count in three places that
must agree, roles instead of keys), and the arguments they give ferry are parsed by the real ferry binary.
"""
import json
import os
import re
import subprocess

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
FERRY = os.path.join(ROOT, ".build", "debug", "ferry")
K8S = os.path.join(ROOT, "deploy", "kubernetes", "ferry-apply-indexed-job.yaml")
BATCH = os.path.join(ROOT, "deploy", "aws-batch")
SECRET_NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "aws_secret_access_key")


def option(args, name):
    assert name in args, f"{name} missing from {args}"
    return args[args.index(name) + 1]


def ferry_parses(args, env):
    """Runs ferry with the manifest's arguments, the plan swapped for a missing file: a usage error (exit 2, or
    ArgumentParser's 64) means the manifest's options are wrong; a missing plan (exit 3) means they parsed."""
    run = subprocess.run([FERRY, *args], env={**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
                                              **env, "AWS_EC2_METADATA_DISABLED": "true"},
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 3 and "Usage" not in run.stderr, (run.returncode, run.stderr)
    assert "no-such-plan.json" in run.stderr, "the error names the plan file: " + run.stderr


def test_kubernetes_indexed_job():
    with open(K8S) as f:
        documents = [d for d in yaml.safe_load_all(f) if d]
    kinds = {d["kind"]: d for d in documents}
    job, account = kinds["Job"], kinds["ServiceAccount"]
    assert job["apiVersion"] == "batch/v1"
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never", "podFailurePolicy needs restartPolicy Never"
    (container,) = pod["containers"]
    args = container["args"]
    assert args[0] == "apply"
    shards = int(option(args, "--shards"))
    assert spec["completions"] == spec["parallelism"] == shards, "one pod per shard, all at once (the barrier)"
    assert option(args, "--state").startswith("s3://")
    # The index: Kubernetes' own annotation, wired to the variable ferry reads.
    env = {e["name"]: e for e in container.get("env", [])}
    assert env["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.annotations['batch.kubernetes.io/job-completion-index']")
    # Credentials from the pod's role, never keys.
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/.+", account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"])
    text = open(K8S).read()
    assert not any(name in text for name in SECRET_NAMES), "no keys in the manifest"
    # The plan is read from its read-only mount; everything written goes to the writable volume.
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    plan_dir = os.path.dirname(args[1])
    assert mounts[plan_dir].get("readOnly") is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "configMap" in volumes[mounts[plan_dir]["name"]]
    for written in (option(args, "--checkpoint"), option(args, "--spool-dir")):
        (root,) = [m for m in mounts if written.startswith(m + "/")]
        assert not mounts[root].get("readOnly"), f"{written} is on a writable volume"
    # The spool stays inside the emptyDir's sizeLimit, which the node's free space does not show.
    gib = lambda q: int(q[:-2]) * (1 << 30) if q.endswith("Gi") else int(q)
    (spool_mount,) = [m for m in mounts if option(args, "--spool-dir").startswith(m + "/")]
    work = volumes[mounts[spool_mount]["name"]]
    assert gib(option(args, "--spool-limit")) < gib(work["emptyDir"]["sizeLimit"])
    # Exit codes: a usage or plan error fails the index; a SIGTERM stop (5) or a claim held elsewhere (8) does not
    # count against it.
    rules = spec["podFailurePolicy"]["rules"]
    by_action = {}
    for rule in rules:
        if "onExitCodes" in rule:
            assert rule["onExitCodes"]["containerName"] == container["name"]
            by_action.setdefault(rule["action"], set()).update(rule["onExitCodes"]["values"])
    assert by_action["FailIndex"] >= {2, 3} and by_action["Ignore"] >= {5, 8}
    assert container["resources"]["limits"]["memory"]
    ferry_parses(["apply", "no-such-plan.json", *args[2:]], {"JOB_COMPLETION_INDEX": "3"})


def test_aws_batch_array_job():
    with open(os.path.join(BATCH, "job-definition.json")) as f:
        definition = json.load(f)
    with open(os.path.join(BATCH, "submit-job.json")) as f:
        submit = json.load(f)
    assert definition["type"] == "container"
    container = definition["containerProperties"]
    command = container["command"]
    assert command[0] == "apply"
    # Ref:: parameters, filled from the definition's defaults and the submission's overrides.
    parameters = {**definition["parameters"], **submit["parameters"]}
    resolved = [parameters[c[5:]] if c.startswith("Ref::") else c for c in command]
    assert all(c[5:] in parameters for c in command if c.startswith("Ref::")), "every Ref:: has a value"
    assert int(option(resolved, "--shards")) == submit["arrayProperties"]["size"], "one child job per shard"
    assert 2 <= submit["arrayProperties"]["size"] <= 10000, "AWS Batch array sizes are 2 … 10,000"
    assert option(resolved, "--state").startswith("s3://")
    assert submit["jobDefinition"] == definition["jobDefinitionName"]
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/.+", container["jobRoleArn"])
    for path in ("job-definition.json", "submit-job.json"):
        text = open(os.path.join(BATCH, path)).read()
        assert not any(name in text for name in SECRET_NAMES), f"no keys in {path}"
    names = {e["name"] for e in container.get("environment", [])}
    assert "AWS_BATCH_JOB_ARRAY_INDEX" not in names, "AWS Batch sets the index itself; a fixed value would break it"
    resources = {r["type"]: r["value"] for r in container["resourceRequirements"]}
    assert int(resources["VCPU"]) >= 1 and int(resources["MEMORY"]) >= 1024
    exits = {e["onExitCode"]: e["action"] for e in definition["retryStrategy"]["evaluateOnExit"]}
    assert exits["2"] == exits["3"] == "EXIT", "a usage or plan error is not retried"
    assert definition["retryStrategy"]["attempts"] > 1, "a failed child is retried and resumes"
    ferry_parses(["apply", "no-such-plan.json", *resolved[2:]], {"AWS_BATCH_JOB_ARRAY_INDEX": "1"})


def test_dockerfile():
    text = open(os.path.join(ROOT, "Dockerfile")).read()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.MULTILINE)
    assert len(stages) >= 2, "multi-stage: the toolchain stays out of the image"
    build_stage = stages[0][1]
    assert f"--from={build_stage}" in text
    assert "--static-swift-stdlib" in text and "-c release" in text
    assert re.search(r"^USER\s+(?!root|0\b)\S+", text, re.MULTILINE), "runs as a non-root user"
    assert re.search(r'^ENTRYPOINT\s+\["/usr/local/bin/ferry"\]', text, re.MULTILINE)
    assert not any(name in text for name in SECRET_NAMES)
    plan = open(os.path.join(BATCH, "Dockerfile.plan")).read()
    assert "/plan/plan.json" in plan
    with open(os.path.join(BATCH, "job-definition.json")) as f:
        assert json.load(f)["parameters"]["plan"] == "/plan/plan.json", "the Batch plan image puts it where the job reads"
