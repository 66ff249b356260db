#!/usr/bin/env python3
"""Prints deploy/k8s as one multi-document YAML that podman 4.3 (Debian 12)
can `kube play`, changed only where podman differs from a cluster:

- containerPort: podman 4.3 publishes every one on the host (a cluster does
  not), so two replicas would fight over 8080; the ports go, and the probes'
  named ports become numbers.
- with an address given (argv[2]), the pods resolve `dolphindb` to it
  through hostAliases: podman's DNS server (aardvark-dns) sometimes fails to
  answer on a busy machine, and a cluster's DNS is not what is tested here.
- nothing else: resources are read in kustomization.yaml's order, and kinds
  podman ignores (Service, PodDisruptionBudget) stay in.
"""
import sys

import yaml

k8s = sys.argv[1]
upstream_ip = sys.argv[2] if len(sys.argv) > 2 else None
kustomization = yaml.safe_load(open(f"{k8s}/kustomization.yaml"))
docs = []
for resource in kustomization["resources"]:
    for doc in yaml.safe_load_all(open(f"{k8s}/{resource}")):
        if doc["kind"] == "Deployment":
            if upstream_ip:
                doc["spec"]["template"]["spec"]["hostAliases"] = [
                    {"ip": upstream_ip, "hostnames": ["dolphindb"]}
                ]
            for c in doc["spec"]["template"]["spec"]["containers"]:
                named = {p["name"]: p["containerPort"] for p in c.pop("ports", [])}
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    get = c.get(probe, {}).get("httpGet")
                    if get and get["port"] in named:
                        get["port"] = named[get["port"]]
        docs.append(doc)
yaml.safe_dump_all(docs, sys.stdout)
