"""Checkov gate for one exported plan (scripts/checkov runs it with the Checkov virtualenv's Python).

Three checks, each of which fails the gate:

1. the scan: no failed check that docs/security-skips.txt does not skip;
2. the scan sees IAM: every role policy (``aws_iam_role_policy``) is concrete in the plan and Checkov
   evaluated at least one of its IAM policy-document checks on it (a policy "known after apply" passes
   them all by not being read);
3. the scan can fail: the plan with a wildcard statement (``Action "*"``, ``Resource "*"``) injected into
   every role policy, and a statement letting any principal (``"AWS": "*"``) assume the role injected into
   every trust policy, is scanned again; every role policy and every role must then fail at least one check.

Standard library only: it runs in the Checkov virtualenv, not the project's.
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

IAM_DOCUMENT_CHECKS = {
    "CKV_AWS_286",  # privilege escalation
    "CKV_AWS_287",  # credentials exposure
    "CKV_AWS_288",  # data exfiltration
    "CKV_AWS_289",  # permissions management / resource exposure
    "CKV_AWS_290",  # write access without constraints
    "CKV_AWS_355",  # "*" resource for restrictable actions
    "CKV2_AWS_40",  # full IAM privileges
}
"""Checkov checks that read a role policy's statements (they pass vacuously on a policy they cannot read)."""
ROLE_POLICY = "aws_iam_role_policy"
ROLE = "aws_iam_role"
MUTATIONS = {
    (ROLE_POLICY, "policy"): {"Sid": "MutationWildcard", "Effect": "Allow", "Action": "*", "Resource": "*"},
    (ROLE, "assume_role_policy"): {
        "Sid": "MutationAnyPrincipal",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "sts:AssumeRole",
    },
}


def scan(checkov: str, plan: Path, global_skips: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Checkov's passed and failed checks for ``plan``."""
    command = [checkov, "-f", str(plan), "--framework", "terraform_plan", "--skip-download", "-o", "json"]
    if global_skips:
        command += ["--skip-check", ",".join(global_skips)]
    # Checkov exits 1 when a check fails; the results decide here.
    output = subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()
    if not output:
        sys.exit(f"error: checkov produced no results for {plan}")
    report = json.loads(output)
    results: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in report if isinstance(report, list) else [report]:
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            results[kind] += item.get("results", {}).get(kind, [])
    return results


def documents(plan: dict[str, Any], kind: str, attribute: str) -> dict[str, Any]:
    """Address -> the policy document (a string, if known) of every ``kind`` resource in the planned values."""
    return {
        item["address"]: item["values"].get(attribute)
        for item in plan["planned_values"]["root_module"]["resources"]
        if item["type"] == kind
    }


def mutated(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan with :data:`MUTATIONS` appended to every role and role policy (planned values and changes)."""
    result = copy.deepcopy(plan)
    values = [item["values"] for item in result["planned_values"]["root_module"]["resources"]]
    values += [item["change"]["after"] for item in result["resource_changes"]]
    types = [item["type"] for item in result["planned_values"]["root_module"]["resources"]]
    types += [item["type"] for item in result["resource_changes"]]
    for kind, value in zip(types, values, strict=True):
        for (mutated_kind, attribute), mutation in MUTATIONS.items():
            if kind == mutated_kind and isinstance(value.get(attribute), str):
                document = json.loads(value[attribute])
                statements = document["Statement"]
                document["Statement"] = [*(statements if isinstance(statements, list) else [statements]), mutation]
                value[attribute] = json.dumps(document, sort_keys=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkov", required=True, help="the checkov executable")
    parser.add_argument("--skips", required=True, type=Path, help="docs/security-skips.txt")
    parser.add_argument("plan", type=Path, help="the exported Terraform plan JSON")
    args = parser.parse_args()

    global_skips, scoped = [], set()
    for line in args.skips.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            if fields[1] == "*":
                global_skips.append(fields[0])
            else:
                scoped.add((fields[0], fields[1]))
    plan = json.loads(args.plan.read_text(encoding="utf-8"))
    status = 0

    # 1. the scan
    results = scan(args.checkov, args.plan, global_skips)
    failures = [c for c in results["failed_checks"] if (c["check_id"], c["resource"]) not in scoped]
    skipped = len(results["skipped_checks"]) + len(results["failed_checks"]) - len(failures)
    print(f"passed {len(results['passed_checks'])}, failed {len(failures)}, skipped {skipped} (by {args.skips})")
    if not results["passed_checks"]:
        print("error: checkov evaluated nothing: the export is empty or was not recognised")
        status = 1
    for check in failures:
        print(f"FAILED {check['check_id']}: {check['check_name']}\n    resource: {check['resource']}")
        if check.get("guideline"):
            print(f"    guide: {check['guideline']}")
        status = 1

    # 2. the scan sees every role policy
    policies = documents(plan, ROLE_POLICY, "policy")
    roles = documents(plan, ROLE, "assume_role_policy")
    evaluated: dict[str, set[str]] = defaultdict(set)
    for check in results["passed_checks"] + results["failed_checks"]:
        if check["check_id"] in IAM_DOCUMENT_CHECKS:
            evaluated[check["resource"]].add(check["check_id"])
    for address, document in sorted(policies.items()):
        if not isinstance(document, str):
            print(f"BLIND {address}: its policy is known only after apply, so no IAM check can read it")
            status = 1
        elif not evaluated[address]:
            print(f"BLIND {address}: checkov evaluated none of {', '.join(sorted(IAM_DOCUMENT_CHECKS))} on it")
            status = 1
    counts = sorted(len(evaluated[address]) for address in policies)
    print(f"IAM document checks evaluated per role policy ({len(policies)} policies): {counts}")

    # 3. the scan can fail, for every role
    with tempfile.TemporaryDirectory() as work:
        mutated_plan = Path(work) / "mutated.json"
        mutated_plan.write_text(json.dumps(mutated(plan)), encoding="utf-8")
        results = scan(args.checkov, mutated_plan, global_skips)
    caught: dict[str, set[str]] = defaultdict(set)
    for check in results["failed_checks"]:
        caught[check["resource"]].add(check["check_id"])
    for address, trust in sorted(roles.items()):
        if not isinstance(trust, str):
            print(f"BLIND {address}: its trust policy is known only after apply, so no IAM check can read it")
            status = 1
    for address in sorted(policies) + sorted(roles):
        if caught[address]:
            print(f"mutation caught in {address}: {', '.join(sorted(caught[address]))}")
        else:
            print(f"UNCAUGHT {address}: a wildcard statement injected into it fails no check")
            status = 1
    if not policies:
        print("mutation: the plan has no role policy")
    return status


if __name__ == "__main__":
    sys.exit(main())
