#!/usr/bin/python3
"""CI check of deploy/: every Kubernetes document parses, and the fields the queue-manager and its
Job builder rely on agree with the code; the runtime image's package list covers `ldd` of every
program it ships. Run by ctest (Deploy.ManifestsAndImage) with the directory of the built programs."""
import glob
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "bin")
problems = []


def fail(msg):
    problems.append(msg)


docs = {}
for path in sorted(glob.glob(os.path.join(ROOT, "deploy", "k8s", "*.yaml"))):
    with open(path) as f:
        try:
            loaded = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            fail(f"{path}: not YAML: {e}")
            continue
    for d in loaded:
        for field in ("apiVersion", "kind"):
            if field not in d:
                fail(f"{path}: a document without {field}")
    docs[os.path.basename(path)] = loaded


def one(kind, name=None):
    for file, ds in docs.items():
        if file.endswith(".example.yaml"):
            continue
        for d in ds:
            if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name):
                return d
    fail(f"no {kind} {name or ''}")
    return {}


# The kustomization lists every manifest but the examples.
kust = docs.get("kustomization.yaml", [{}])[0]
listed = set(kust.get("resources", []))
for file in docs:
    if file in ("kustomization.yaml",) or file.endswith(".example.yaml"):
        continue
    if file not in listed:
        fail(f"kustomization.yaml does not list {file}")
for r in listed:
    if r not in docs:
        fail(f"kustomization.yaml lists {r}, which does not exist")

# Every variable the ConfigMap and the Deployment set is one the code reads.
source = ""
for path in glob.glob(os.path.join(ROOT, "libs", "*", "src", "*.cpp")):
    if not path.endswith("_test.cpp"):
        source += open(path).read()
cm = one("ConfigMap", "queue-manager")
dep = one("Deployment", "queue-manager")
container = dep["spec"]["template"]["spec"]["containers"][0]
variables = list(cm.get("data", {}).keys()) + [e["name"] for e in container.get("env", [])]
for var in variables:
    if f'"{var}"' not in source:
        fail(f"{var} is set in the manifests but no code reads it")
data = cm.get("data", {})
if data.get("LAUNCHER") != "kubernetes":
    fail("ConfigMap LAUNCHER must be kubernetes in a cluster")
ns = one("Namespace")["metadata"]["name"]
if data.get("K8S_NAMESPACE") != ns:
    fail(f"ConfigMap K8S_NAMESPACE={data.get('K8S_NAMESPACE')} but the namespace is {ns}")

# The Deployment: probes on the health endpoints, non-root, read-only root, its service account.
probes = {"readinessProbe": "/health/ready", "livenessProbe": "/health/live", "startupProbe": "/health/startup"}
for probe, path in probes.items():
    got = container.get(probe, {}).get("httpGet", {}).get("path")
    if got != path:
        fail(f"Deployment {probe} must GET {path}, not {got}")
pod = dep["spec"]["template"]["spec"]
if not pod.get("securityContext", {}).get("runAsNonRoot"):
    fail("Deployment must run as non-root")
if pod.get("securityContext", {}).get("seccompProfile", {}).get("type") != "RuntimeDefault":
    fail("Deployment must use the RuntimeDefault seccomp profile")
if not container.get("securityContext", {}).get("readOnlyRootFilesystem"):
    fail("Deployment must have a read-only root filesystem")
for r in ("requests", "limits"):
    if r not in container.get("resources", {}):
        fail(f"Deployment container has no resources.{r}")
sa = pod.get("serviceAccountName")
one("ServiceAccount", sa)

# Secrets: every reference (the Deployment's and the Jobs', by the *_SECRET names) is documented.
example = {d["metadata"]["name"] for d in docs.get("secrets.example.yaml", [])}
refs = [e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", []) if "valueFrom" in e]
refs += [v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v]
refs += [v for k, v in data.items() if k.endswith("_SECRET")]
for r in refs:
    if r not in example:
        fail(f"Secret {r} is referenced but not in secrets.example.yaml")
for e in container.get("env", []):
    if re.search("PASSWORD|TOKEN|SECRET", e["name"]) and "value" in e:
        fail(f"Deployment env {e['name']} is a plain value; use secretKeyRef")
# Review #24: jobs do not share the manager's ArangoDB user (the manager alone writes queue_state).
if data.get("ARANGO_URL"):
    if not data.get("WORKER_ARANGO_USER"):
        fail("WORKER_ARANGO_USER is unset: jobs would write with the manager's ArangoDB user")
    elif data.get("WORKER_ARANGO_USER") == data.get("ARANGO_USER"):
        fail("WORKER_ARANGO_USER is the manager's ARANGO_USER")
# The Jobs mount the CA Secret at /etc/streamforge/ca (kubernetes_launcher.cpp); the manager too.
ca_vol = [v for v in pod.get("volumes", []) if v.get("secret", {}).get("secretName") == data.get("KAFKA_CA_SECRET")]
if not ca_vol:
    fail("the Deployment does not mount the Secret KAFKA_CA_SECRET names")
if not data.get("CA_PATH", "").startswith("/etc/streamforge/ca/"):
    fail("CA_PATH must lie in /etc/streamforge/ca, where the CA is mounted")
if '"/etc/streamforge/ca"' not in source:
    fail("the Job builder no longer mounts the CA at /etc/streamforge/ca")

# RBAC: the verbs the Kubernetes launcher uses.
role = one("Role", "queue-manager")
verbs = set()
for rule in role.get("rules", []):
    if "batch" in rule.get("apiGroups", []) and "jobs" in rule.get("resources", []):
        verbs |= set(rule.get("verbs", []))
for v in ("create", "get", "list", "delete"):
    if v not in verbs:
        fail(f"Role lacks {v} on batch/jobs")
binding = one("RoleBinding", "queue-manager")
if binding.get("subjects", [{}])[0].get("name") != sa:
    fail("RoleBinding does not bind the Deployment's service account")

# Network policies: the manager's API on 8000 only; the Jobs take no connections.
policies = [d for ds in docs.values() for d in ds if d.get("kind") == "NetworkPolicy"]
def selects(p, labels):
    return p["spec"].get("podSelector", {}).get("matchLabels", {}).items() <= labels.items()
mgr_labels = dep["spec"]["template"]["metadata"]["labels"]
mgr = [p for p in policies if selects(p, mgr_labels)]
if not mgr or "Ingress" not in mgr[0]["spec"].get("policyTypes", []):
    fail("no NetworkPolicy limits the queue-manager's ingress")
elif {port.get("port") for rule in mgr[0]["spec"].get("ingress", []) for port in rule.get("ports", [])} != {8000}:
    fail("the queue-manager's NetworkPolicy must admit port 8000 only")
if '{"app.kubernetes.io/managed-by", "queue-manager"}' not in source:
    fail("the Job builder no longer labels Jobs managed-by=queue-manager")
jobs = [p for p in policies if selects(p, {"app.kubernetes.io/managed-by": "queue-manager"}) and p not in mgr]
if not jobs or jobs[0]["spec"].get("ingress") not in ([], None) or "Ingress" not in jobs[0]["spec"].get("policyTypes", []):
    fail("no NetworkPolicy shuts the Jobs' ingress")

# Service, ServiceMonitor, topics.
svc = one("Service", "queue-manager")
smon = one("ServiceMonitor", "queue-manager")
if smon.get("spec", {}).get("selector", {}).get("matchLabels", {}).items() - svc["metadata"]["labels"].items():
    fail("ServiceMonitor does not select the Service")
if smon["spec"]["endpoints"][0].get("path") != "/metrics":
    fail("ServiceMonitor must scrape /metrics")
topics = {d["metadata"]["name"] for d in docs.get("kafkatopics.yaml", [])}
for t in (data.get("QUEUE_CONTROL_TOPIC"), data.get("QUEUE_EVENTS_TOPIC")):
    if t not in topics:
        fail(f"no KafkaTopic {t}")

# Images: every program a Job can run is in the image; the image's packages cover ldd.
dockerfile = open(os.path.join(ROOT, "deploy", "Dockerfile")).read()
programs = set(re.findall(r"/src/build/bin/([a-z-]+)", dockerfile))
for entry in data.get("WORKER_IMAGES", "").split(";"):
    target = entry.split("=")[0]
    if target and target not in programs:
        fail(f"WORKER_IMAGES names {target}, which the Dockerfile does not copy")
def listed(name):
    return {l.strip() for l in open(os.path.join(ROOT, "deploy", name)) if l.strip() and not l.startswith("#")}
packages = listed("runtime-packages.txt")
base = {"libc6", "libgcc-s1", "libstdc++6"}  # in debian:12-slim
# gnn-trainer has an image of its own: the slim packages, the torch ones and what apt brings with them.
torch_image = set()
if "gnn-trainer" in programs:
    closure = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                              "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances",
                              *sorted(packages | listed("runtime-packages-gnn.txt"))],
                             capture_output=True, text=True).stdout
    torch_image = {l.strip() for l in closure.splitlines() if l and not l.startswith(" ")}
    if not re.search(r"FROM debian:12-slim AS gnn-trainer", dockerfile):
        fail("the Dockerfile has no gnn-trainer image")
for prog in sorted(programs):
    allowed = torch_image if prog == "gnn-trainer" else packages
    exe = os.path.join(BIN, prog)
    if not os.path.exists(exe):
        fail(f"{exe} is not built")
        continue
    out = subprocess.run(["ldd", exe], capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.search(r"=> (\S+)", line)
        if not m or m.group(1) == "not":
            if "not found" in line:
                fail(f"{prog}: {line.strip()}")
            continue
        lib = os.path.realpath(m.group(1))
        owner = subprocess.run(["dpkg", "-S", lib], capture_output=True, text=True)
        if owner.returncode != 0:
            owner = subprocess.run(["dpkg", "-S", m.group(1)], capture_output=True, text=True)
        pkg = owner.stdout.split(":")[0] if owner.returncode == 0 else None
        if pkg is None:
            fail(f"{prog}: {m.group(1)} belongs to no Debian package")
        elif pkg not in allowed and pkg not in base:
            fail(f"{prog} needs {pkg} ({m.group(1)}), missing from deploy/runtime-packages*.txt")

if problems:
    print("\n".join("FAIL: " + p for p in problems))
    sys.exit(1)
print(f"PASS: {sum(len(d) for d in docs.values())} documents, {len(programs)} programs' libraries covered")
